//! A publication sent per deployment: its commands are grouped by the
//! deployment their key belongs to (every key of one carries its hash tag,
//! so a group stays in one cluster slot), and each group is one atomic
//! unit. With `[ha]`, a group is one call of the fence script, refused by
//! Redis itself unless this aggregator holds the deployment's lease: a
//! deposed leader's late write (a stalled process, a cut that healed)
//! never lands, whatever it believes. Without it, on a Redis Cluster, a
//! group is one MULTI/EXEC (one MULTI across deployments would span slots).

use std::collections::{BTreeMap, VecDeque};

use redis::Arg;

use super::{epoch_key, leader_key};
use crate::lead::FENCED;

/// What a fenced publication did.
pub(super) struct Sent {
    /// The replies of the EXISTS commands, in the pipeline's order (a
    /// refused group's count as existing: no loss is claimed for them).
    pub(super) existed: Vec<bool>,
    /// The deployments whose writes Redis refused: this aggregator does
    /// not hold their lease.
    pub(super) refused: Vec<String>,
}

/// One deployment's commands, in order.
#[derive(Debug, Default, PartialEq)]
struct Group {
    keys: Vec<Vec<u8>>,
    commands: Vec<Vec<Vec<u8>>>,
}

/// The deployment a key or channel belongs to: its hash tag.
fn tag(key: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(key).ok()?;
    let start = text.find('{')?;
    let end = start + text[start..].find('}')?;
    Some(text[start + 1..end].to_string())
}

/// The pipeline's commands per deployment, and for each EXISTS command in
/// order, the deployment whose group answers it.
fn group(pipe: &redis::Pipeline) -> (BTreeMap<String, Group>, Vec<String>) {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut exists = Vec::new();
    for cmd in pipe.cmd_iter() {
        let args: Vec<Vec<u8>> = cmd
            .args_iter()
            .filter_map(|arg| match arg {
                Arg::Simple(bytes) => Some(bytes.to_vec()),
                _ => None,
            })
            .collect();
        let Some(deployment) = args.get(1).and_then(|key| tag(key)) else {
            // Every command the publisher builds names a deployment's key.
            tracing::error!(
                command = %String::from_utf8_lossy(args.first().map_or(&[][..], |a| a)),
                "a publication's command names no deployment: not sent"
            );
            continue;
        };
        if args[0].eq_ignore_ascii_case(b"EXISTS") {
            exists.push(deployment.clone());
        }
        let group = groups.entry(deployment).or_default();
        if !group.keys.contains(&args[1]) {
            group.keys.push(args[1].clone());
        }
        group.commands.push(args);
    }
    (groups, exists)
}

/// Sends `pipe` as one fenced call per deployment, as aggregator `id`;
/// `epochs`: the highest epoch each deployment's commands carry.
pub(super) async fn send(
    pipe: &redis::Pipeline,
    id: &str,
    epochs: &BTreeMap<String, u64>,
    connection: &mut impl redis::aio::ConnectionLike,
) -> redis::RedisResult<Sent> {
    let (groups, exists) = group(pipe);
    let mut replies: BTreeMap<String, VecDeque<bool>> = BTreeMap::new();
    let mut refused = Vec::new();
    for (deployment, group) in groups {
        let mut call = FENCED.key(leader_key(&deployment));
        call.key(epoch_key(&deployment));
        for key in &group.keys {
            call.key(key.as_slice());
        }
        call.arg(id)
            .arg(epochs.get(&deployment).copied().unwrap_or(0))
            .arg(group.commands.len());
        for command in &group.commands {
            call.arg(command.len());
            for arg in command {
                call.arg(arg.as_slice());
            }
        }
        match call.invoke_async::<Vec<bool>>(connection).await {
            Ok(existed) => {
                replies.insert(deployment, existed.into());
            }
            Err(error) if error.code() == Some("NOTLEADER") => refused.push(deployment),
            Err(error) => return Err(error),
        }
    }
    let existed = in_order(&exists, replies);
    Ok(Sent { existed, refused })
}

/// The EXISTS replies back in the pipeline's order, from each group's own
/// (a refused group's count as existing: no loss is claimed for them).
fn in_order(exists: &[String], mut replies: BTreeMap<String, VecDeque<bool>>) -> Vec<bool> {
    exists
        .iter()
        .map(|deployment| {
            replies
                .get_mut(deployment)
                .and_then(VecDeque::pop_front)
                .unwrap_or(true)
        })
        .collect()
}

/// Sends `pipe` as one MULTI/EXEC per deployment (a Redis Cluster without
/// `[ha]`).
pub(super) async fn send_per_deployment(
    pipe: &redis::Pipeline,
    connection: &mut impl redis::aio::ConnectionLike,
) -> redis::RedisResult<Sent> {
    let (groups, exists) = group(pipe);
    let mut replies: BTreeMap<String, VecDeque<bool>> = BTreeMap::new();
    for (deployment, group) in groups {
        let mut unit = redis::pipe();
        unit.atomic();
        for command in &group.commands {
            let mut cmd = redis::cmd(&String::from_utf8_lossy(&command[0]));
            for arg in &command[1..] {
                cmd.arg(arg.as_slice());
            }
            if command[0].eq_ignore_ascii_case(b"EXISTS") {
                unit.add_command(cmd);
            } else {
                unit.add_command(cmd).ignore();
            }
        }
        let existed: Vec<bool> = unit.query_async(connection).await?;
        replies.insert(deployment, existed.into());
    }
    let existed = in_order(&exists, replies);
    Ok(Sent {
        existed,
        refused: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_grouped_by_the_deployment_their_key_is_tagged_with() {
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.set("greenlight:{a}:verdict", "1").ignore();
        pipe.publish("greenlight:{b}:verdicts", "2").ignore();
        pipe.exists("greenlight:{b}:state");
        pipe.set("greenlight:{b}:state", "3").ignore();
        pipe.exists("greenlight:{a}:state");
        let (groups, exists) = group(&pipe);
        assert_eq!(exists, vec!["b".to_string(), "a".to_string()]);
        assert_eq!(
            groups["a"].keys,
            vec![
                b"greenlight:{a}:verdict".to_vec(),
                b"greenlight:{a}:state".to_vec()
            ]
        );
        assert_eq!(groups["b"].commands.len(), 3);
        assert_eq!(groups["b"].commands[0][0], b"PUBLISH".to_vec());
        assert_eq!(tag(b"greenlight:escashop:verdict"), None);
    }
}
