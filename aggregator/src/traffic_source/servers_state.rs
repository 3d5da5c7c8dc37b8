//! HAProxy's `show servers state <backend>` answer, parsed: which color's
//! server takes new requests. Pure, so it is tested on answers captured
//! from a real HAProxy (testdata/).

use greenlight_proto::v1::Color;

use super::reading::{ReadError, Reading};

/// Admin state flags (HAProxy's SRV_ADMF_*) that stop new requests: forced
/// (0x01), inherited (0x02) or DNS (0x20) maintenance, forced (0x08) or
/// inherited (0x10) drain. 0x04 only records `disabled` in the config and
/// 0x40 an FQDN set over the socket: neither stops traffic alone. The same
/// rule as deploy/switch-traffic's `takes_traffic`, so the script and the
/// aggregator agree on where traffic is.
const NO_TRAFFIC: u32 = 0x01 | 0x02 | 0x20 | 0x08 | 0x10;

/// The format version HAProxy prints on the answer's first line.
const FORMAT_VERSION: &str = "1";

/// One server's row, the fields that say whether it takes new requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServerRow {
    admin_state: u32,
    weight: u32,
}

impl ServerRow {
    /// Ready (no maintenance or drain flag) with a weight. The operational
    /// (health check) state is left out on purpose: a DOWN server that the
    /// operator left ready is still where traffic was sent, and its health
    /// is what the agents report.
    fn takes_traffic(self) -> bool {
        self.admin_state & NO_TRAFFIC == 0 && self.weight > 0
    }

    fn describe(self) -> String {
        if self.admin_state & (0x01 | 0x02 | 0x20) != 0 {
            "maint".into()
        } else if self.admin_state & (0x08 | 0x10) != 0 {
            "drain".into()
        } else {
            format!("ready, weight {}", self.weight)
        }
    }
}

/// Which color takes new requests, from the answer to
/// `show servers state {backend}`, whose blue and green servers are named
/// `blue_server` and `green_server`.
pub fn parse(
    answer: &str,
    backend: &str,
    blue_server: &str,
    green_server: &str,
) -> Result<Reading, ReadError> {
    let mut lines = answer.lines();
    if lines.next().map(str::trim) != Some(FORMAT_VERSION) {
        // "Can't find backend.", "Permission denied", "Unknown command"...
        return Err(ReadError::NotServersState {
            backend: backend.into(),
            answer: one_line(answer),
        });
    }
    let header = lines
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .ok_or_else(|| ReadError::Malformed("no `# be_id ...` header line".into()))?;
    let columns: Vec<&str> = header.split_whitespace().collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|column| *column == name)
            .ok_or_else(|| ReadError::Malformed(format!("no column {name} in the header")))
    };
    let (name, admin, weight) = (
        column("srv_name")?,
        column("srv_admin_state")?,
        column("srv_uweight")?,
    );

    let mut blue = None;
    let mut green = None;
    for line in lines.filter(|line| !line.trim().is_empty() && !line.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != columns.len() {
            return Err(ReadError::Malformed(format!(
                "a row of {} fields under a header of {}: {line:?}",
                fields.len(),
                columns.len()
            )));
        }
        let number = |index: usize| {
            fields[index].parse::<u32>().map_err(|_| {
                ReadError::Malformed(format!("{} is {:?}", columns[index], fields[index]))
            })
        };
        let row = ServerRow {
            admin_state: number(admin)?,
            weight: number(weight)?,
        };
        if fields[name] == blue_server {
            blue = Some(row);
        } else if fields[name] == green_server {
            green = Some(row);
        }
    }
    let missing = |server: &str, key| ReadError::NoServer {
        backend: backend.into(),
        server: server.into(),
        key,
    };
    let blue = blue.ok_or_else(|| missing(blue_server, "blue_server"))?;
    let green = green.ok_or_else(|| missing(green_server, "green_server"))?;

    Ok(match (blue.takes_traffic(), green.takes_traffic()) {
        (true, false) => Reading::One(Color::Blue),
        (false, true) => Reading::One(Color::Green),
        (both, _) => Reading::NotOne(format!(
            "{} new requests (blue {}, green {})",
            if both {
                "both servers take"
            } else {
                "no server takes"
            },
            blue.describe(),
            green.describe()
        )),
    })
}

/// An answer quoted in one line, and not too long for a log line.
fn one_line(answer: &str) -> String {
    let joined = answer.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from HAProxy 2.6 (Debian 12) running deploy/haproxy/haproxy.cfg.
    const BLUE_LIVE: &str = include_str!("testdata/haproxy-blue-live.txt");
    /// After deploy/switch-traffic's commands: green ready + weight 100,
    /// blue drain; green's health check not yet UP.
    const GREEN_LIVE: &str = include_str!("testdata/haproxy-green-live.txt");
    const BOTH: &str = include_str!("testdata/haproxy-both.txt");
    const NONE_MAINT: &str = include_str!("testdata/haproxy-none-maint.txt");
    /// Both ready, green at weight 0 (the shipped config's start for green).
    const GREEN_WEIGHT_0: &str = include_str!("testdata/haproxy-green-weight0.txt");
    const NO_BACKEND: &str = include_str!("testdata/haproxy-no-backend.txt");

    fn read(answer: &str) -> Result<Reading, ReadError> {
        parse(answer, "escashop", "blue", "green")
    }

    #[test]
    fn the_color_whose_server_is_ready_with_a_weight_carries_traffic() {
        assert_eq!(read(BLUE_LIVE).unwrap(), Reading::One(Color::Blue));
        assert_eq!(read(GREEN_LIVE).unwrap(), Reading::One(Color::Green));
        assert_eq!(read(GREEN_WEIGHT_0).unwrap(), Reading::One(Color::Blue));
    }

    #[test]
    fn both_or_neither_is_not_one_color_and_says_why() {
        let Reading::NotOne(both) = read(BOTH).unwrap() else {
            panic!("both ready is not one color");
        };
        assert_eq!(
            both,
            "both servers take new requests (blue ready, weight 100, green ready, weight 100)"
        );
        let Reading::NotOne(none) = read(NONE_MAINT).unwrap() else {
            panic!("both in maintenance is not one color");
        };
        assert_eq!(
            none,
            "no server takes new requests (blue maint, green maint)"
        );
    }

    #[test]
    fn servers_are_found_by_the_configured_names() {
        let renamed = GREEN_LIVE.replace(" blue ", " escashop-b ");
        assert_eq!(
            parse(&renamed, "escashop", "escashop-b", "green").unwrap(),
            Reading::One(Color::Green)
        );
        let error = read(&renamed).unwrap_err().to_string();
        assert_eq!(
            error,
            "HAProxy's backend escashop has no server \"blue\" (the traffic source's blue_server)"
        );
    }

    #[test]
    fn an_answer_that_is_not_a_servers_state_names_the_backend() {
        let error = parse(NO_BACKEND, "escashp", "blue", "green")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "HAProxy answered `show servers state escashp` with \"Can't find backend.\": is the traffic source's backend right?"
        );
    }

    #[test]
    fn a_malformed_answer_is_an_error_not_a_guess() {
        let short_row = BLUE_LIVE.replace(" 18500 - 0 0 - - 0", "");
        assert!(matches!(read(&short_row), Err(ReadError::Malformed(_))));
        let no_weight = BLUE_LIVE.replace("srv_uweight", "srv_weight");
        assert!(matches!(read(&no_weight), Err(ReadError::Malformed(_))));
        let bad_number = BLUE_LIVE.replace("127.0.0.1 2 0 100", "127.0.0.1 2 x 100");
        assert!(matches!(read(&bad_number), Err(ReadError::Malformed(_))));
        assert!(matches!(read(""), Err(ReadError::NotServersState { .. })));
    }
}
