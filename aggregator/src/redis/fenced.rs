//! A publication sent through the lease's fence (`[ha]`). Its commands are
//! grouped per deployment (every key of one carries its hash tag), and
//! each group runs as one call of the fence script: atomic, in the one
//! slot that holds the deployment's keys, and refused by Redis itself
//! unless this aggregator holds the deployment's lease. So a deposed
//! leader's late write (a stalled process, a cut that healed) never lands,
//! whatever it believes.

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
    let existed = exists
        .iter()
        .map(|deployment| {
            replies
                .get_mut(deployment)
                .and_then(VecDeque::pop_front)
                .unwrap_or(true)
        })
        .collect();
    Ok(Sent { existed, refused })
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
