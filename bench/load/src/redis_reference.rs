//! The reference for GetVerdict's latency: the real `redis-benchmark`
//! (Debian's redis-tools) running GET against the same Redis during the
//! same run, one client at a time as the GetVerdict loop asks, its p99
//! read from `--csv`.

use anyhow::{Context, bail};

pub const REQUESTS: u32 = 20_000;

#[derive(Debug, Clone)]
pub struct RedisGet {
    pub command: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs `redis-benchmark -t get` against the Redis at `url` (redis://,
/// with an optional password; no TLS).
pub async fn measure(url: &str) -> anyhow::Result<RedisGet> {
    let (host, port, password) = host_port(url)?;
    let mut args = vec![
        "-h".to_string(),
        host,
        "-p".into(),
        port.to_string(),
        "-t".into(),
        "get".into(),
        "-n".into(),
        REQUESTS.to_string(),
        "-c".into(),
        "1".into(),
        "--csv".into(),
    ];
    let command = format!("redis-benchmark {}", args.join(" "));
    if let Some(password) = password {
        args.extend(["-a".into(), password]);
    }
    let output = tokio::process::Command::new("redis-benchmark")
        .args(&args)
        .output()
        .await
        .context("running redis-benchmark (Debian: apt-get install redis-tools)")?;
    if !output.status.success() {
        bail!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let (p50_ms, p99_ms) = parse_csv(&String::from_utf8_lossy(&output.stdout))?;
    Ok(RedisGet {
        command,
        p50_ms,
        p99_ms,
    })
}

fn host_port(url: &str) -> anyhow::Result<(String, u16, Option<String>)> {
    let rest = url
        .strip_prefix("redis://")
        .context("the reference needs a redis:// URL (redis-benchmark here speaks no TLS)")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (password, address) = match authority.rsplit_once('@') {
        Some((user_info, address)) => {
            let password = user_info.rsplit(':').next().unwrap_or(user_info);
            (Some(password.to_string()), address)
        }
        None => (None, authority),
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().context("the Redis port")?),
        None => (address, 6379),
    };
    Ok((host.to_string(), port, password))
}

/// p50 and p99 (ms) from `--csv`: a header line, then `"GET",...`.
fn parse_csv(text: &str) -> anyhow::Result<(f64, f64)> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let split = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|cell| cell.trim_matches('"').to_string())
            .collect()
    };
    let header = split(lines.next().context("redis-benchmark printed nothing")?);
    let row = split(
        lines
            .find(|line| line.starts_with("\"GET"))
            .context("no GET line in redis-benchmark's output")?,
    );
    let column = |name: &str| -> anyhow::Result<f64> {
        let index = header
            .iter()
            .position(|cell| cell == name)
            .with_context(|| format!("no {name} column: redis-benchmark older than 7?"))?;
        Ok(row.get(index).context("a short GET line")?.parse()?)
    };
    Ok((column("p50_latency_ms")?, column("p99_latency_ms")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_benchmark_7_csv() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"GET\",\"27397.26\",\"0.032\",\"0.016\",\"0.023\",\"0.023\",\"0.055\",\"3.839\"\n";
        assert_eq!(parse_csv(text).unwrap(), (0.023, 0.055));
    }

    #[test]
    fn reads_host_port_and_password() {
        assert_eq!(
            host_port("redis://:secret@127.0.0.1:6380/0").unwrap(),
            ("127.0.0.1".into(), 6380, Some("secret".into()))
        );
        assert_eq!(
            host_port("redis://localhost").unwrap(),
            ("localhost".into(), 6379, None)
        );
    }
}
