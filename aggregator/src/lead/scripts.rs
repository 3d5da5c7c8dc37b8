//! The lease in Redis, as Lua scripts: each runs atomically on the one
//! server (or cluster slot) that holds the deployment's keys, so taking,
//! renewing and checking a lease cannot interleave with another
//! aggregator's. Numbers stay below 2^53 (epochs are microseconds since
//! 1970 plus a count), exact in Lua's doubles.

use std::sync::LazyLock;

/// KEYS: the lease, the epoch high-water mark. ARGV: this aggregator's id,
/// the lease in ms, `1` when it believes it leads, the least epoch it may
/// take. Replies `{"renewed", ""}`, `{"acquired", epoch}` (a new term: the
/// epoch is above every epoch published before) or `{"held", holder}`.
pub static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] and ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'renewed', ''}
end
if holder and holder ~= ARGV[1] then
  return {'held', holder}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local high = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(ARGV[4])
if floor > high then high = floor end
local epoch = string.format('%.0f', high + 1)
redis.call('SET', KEYS[2], epoch)
return {'acquired', epoch}
",
    )
});

/// KEYS: the lease. ARGV: this aggregator's id. Deletes the lease only
/// when this aggregator holds it; replies 1 when it did.
pub static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// The fence. KEYS: the lease, the epoch high-water mark, then every key
/// the commands touch (so that a cluster routes the call to their slot).
/// ARGV: this aggregator's id, the highest epoch the commands carry (0 for
/// none), the number of commands, then each command as its argument count
/// and arguments. Refused with `NOTLEADER` unless this aggregator holds
/// the lease; otherwise runs them all and replies with the replies of the
/// EXISTS commands, in order (the only replies the publisher reads).
pub static FENCED: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOTLEADER this aggregator does not hold the lease')
end
local epoch = tonumber(ARGV[2])
if epoch > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], ARGV[2])
end
local replies = {}
local at = 4
for _ = 1, tonumber(ARGV[3]) do
  local count = tonumber(ARGV[at])
  local command = {}
  for i = 1, count do command[i] = ARGV[at + i] end
  at = at + count + 1
  local reply = redis.call(unpack(command))
  if string.upper(command[1]) == 'EXISTS' then table.insert(replies, reply) end
end
return replies
",
    )
});

/// What [`ACQUIRE`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Renewed,
    /// A new term, with the epoch its verdicts start above.
    Took(u64),
    Held(String),
}

impl Acquired {
    pub fn parse(reply: (String, String)) -> redis::RedisResult<Acquired> {
        let bad = || {
            redis::RedisError::from((
                redis::ErrorKind::Parse,
                "unexpected reply from the lease script",
            ))
        };
        match reply.0.as_str() {
            "renewed" => Ok(Acquired::Renewed),
            "acquired" => reply.1.parse().map(Acquired::Took).map_err(|_| bad()),
            "held" => Ok(Acquired::Held(reply.1)),
            _ => Err(bad()),
        }
    }
}
