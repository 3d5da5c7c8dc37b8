//! Who runs PostgreSQL: initdb and postgres refuse to run as root.

use std::ffi::CString;
use std::path::Path;

use anyhow::{Context, bail};

/// The user PostgreSQL runs as when the tests run as root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Owner {
    /// `None` when we are not root: PostgreSQL then runs as us. As root, the
    /// `postgres` system user, which Debian's postgresql package creates.
    pub(crate) fn for_postgres() -> anyhow::Result<Option<Owner>> {
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        match user("postgres")? {
            Some(owner) => Ok(Some(owner)),
            None => bail!(
                "the tests run as root, and PostgreSQL refuses to run as root, but there is no `postgres` user to run it as: \
                 run `apt-get install -y --no-install-recommends postgresql` (it creates the user), or run the tests as a normal user"
            ),
        }
    }

    /// Hands `path` to this user, so PostgreSQL can write in it.
    pub(crate) fn take(&self, path: &Path) -> anyhow::Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .with_context(|| format!("cannot chown {} to the postgres user", path.display()))
    }
}

/// Looks `name` up in the user database (files, LDAP, ... as NSS says).
fn user(name: &str) -> anyhow::Result<Option<Owner>> {
    let c_name = CString::new(name).context("a user name has no NUL byte")?;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (integers and null pointers).
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getpwnam_r writes only into
    // `entry`, `buffer` (of the length given) and `found`.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 {
        bail!(
            "cannot look up user {name}: {}",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    Ok((!found.is_null()).then_some(Owner {
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_and_nonsense_is_not() {
        let root = user("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(user("greenlight-no-such-user").unwrap().is_none());
    }
}
