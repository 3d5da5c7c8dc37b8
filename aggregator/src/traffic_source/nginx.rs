//! nginx switched the guide's way: the enabled site is a copy of (or a
//! symlink to) one color's config. Which one, by comparing bytes.

use std::path::Path;
use std::time::Duration;

use greenlight_proto::v1::Color;
use tokio::io::AsyncReadExt;

use super::reading::{ReadError, Reading};

/// A site config is a few kilobytes; a larger file is not one.
const FILE_LIMIT: u64 = 1 << 20;

/// Which color's config the site is. Pure: the three files' contents.
pub fn classify(site: &[u8], blue_config: &[u8], green_config: &[u8]) -> Reading {
    match (site == blue_config, site == green_config) {
        (true, false) => Reading::One(Color::Blue),
        (false, true) => Reading::One(Color::Green),
        (true, true) => Reading::NotOne(
            "the blue and green configs are the same bytes: the site cannot tell them apart"
                .into(),
        ),
        (false, false) => Reading::NotOne(
            "the enabled site is neither the blue nor the green config (edited by hand, or a switch under way)"
                .into(),
        ),
    }
}

/// Reads the three files within `timeout` (a hung network mount must not
/// hang the poller) and classifies them. A symlinked site is read through
/// its link, so a link to one config counts as that config.
pub async fn read(
    site: &Path,
    blue_config: &Path,
    green_config: &Path,
    timeout: Duration,
) -> Result<Reading, ReadError> {
    let files = async {
        let site = read_file(site, "site").await?;
        let blue = read_file(blue_config, "blue_config").await?;
        let green = read_file(green_config, "green_config").await?;
        Ok::<_, ReadError>(classify(&site, &blue, &green))
    };
    tokio::time::timeout(timeout, files)
        .await
        .map_err(|_| ReadError::Timeout {
            what: format!("reading the nginx site {}", site.display()),
            timeout,
        })?
}

async fn read_file(path: &Path, key: &'static str) -> Result<Vec<u8>, ReadError> {
    let failed = |source| ReadError::File {
        path: path.to_owned(),
        key,
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(failed)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(ReadError::TooLarge {
            what: path.display().to_string(),
            limit: FILE_LIMIT,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const BLUE: &[u8] = include_bytes!("../../../deploy/nginx/nginx.blue.conf");
    const GREEN: &[u8] = include_bytes!("../../../deploy/nginx/nginx.green.conf");

    #[test]
    fn the_site_is_the_color_whose_config_it_equals() {
        assert_eq!(classify(BLUE, BLUE, GREEN), Reading::One(Color::Blue));
        assert_eq!(classify(GREEN, BLUE, GREEN), Reading::One(Color::Green));
    }

    #[test]
    fn a_site_edited_by_hand_or_identical_configs_are_not_one_color() {
        let edited = [GREEN, b"\n# tuned by hand\n"].concat();
        assert!(matches!(classify(&edited, BLUE, GREEN), Reading::NotOne(_)));
        assert!(matches!(classify(BLUE, BLUE, BLUE), Reading::NotOne(_)));
    }

    /// A directory of real files (the shipped configs), removed on drop.
    struct Site {
        dir: PathBuf,
    }

    impl Site {
        fn new(name: &str) -> Site {
            let dir = std::env::temp_dir()
                .join(format!("greenlight-nginx-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("nginx.blue.conf"), BLUE).unwrap();
            std::fs::write(dir.join("nginx.green.conf"), GREEN).unwrap();
            Site { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.join(name)
        }

        async fn read(&self) -> Result<Reading, ReadError> {
            read(
                &self.path("escashop.conf"),
                &self.path("nginx.blue.conf"),
                &self.path("nginx.green.conf"),
                Duration::from_secs(5),
            )
            .await
        }
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[tokio::test]
    async fn a_copy_and_a_symlink_both_count() {
        let site = Site::new("copy");
        std::fs::write(site.path("escashop.conf"), GREEN).unwrap();
        assert_eq!(site.read().await.unwrap(), Reading::One(Color::Green));

        std::fs::remove_file(site.path("escashop.conf")).unwrap();
        std::os::unix::fs::symlink(site.path("nginx.blue.conf"), site.path("escashop.conf"))
            .unwrap();
        assert_eq!(site.read().await.unwrap(), Reading::One(Color::Blue));
    }

    #[tokio::test]
    async fn a_missing_site_is_an_error_naming_the_key() {
        let site = Site::new("missing");
        let error = site.read().await.unwrap_err();
        assert!(
            matches!(error, ReadError::File { key: "site", .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("escashop.conf (site of the traffic source)")
        );
    }
}
