//! The results file: loading it (any schema version this build reads, see
//! [`upgrade`]), and saving it atomically (write a temporary file, then
//! rename) so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::results::{upgrade, Results, SCHEMA_VERSION};

/// Errors reading or writing a results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {path}: {cause} (hint: pass the results.json of a run, e.g. reports/<run-id>/results.json)")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a kafka-order-bench results file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has schema version {found}, this build reads versions 1 to {SCHEMA_VERSION} (hint: use the kafka-order-bench that wrote it)")]
    Version { path: PathBuf, found: u64 },
    #[error("{path} holds no cells (the run stopped before its first cell finished)")]
    Empty { path: PathBuf },
}

impl Results {
    /// Reads and checks a results file: it must exist, parse, carry this
    /// build's schema version or an earlier one (brought up to this one, see
    /// [`upgrade`]) and hold at least one cell.
    pub fn load(path: &Path) -> Result<Results, ResultsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: path.to_path_buf(),
            cause: source,
        })?;
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ResultsError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ResultsError::Parse {
                path: path.to_path_buf(),
                message: "no schema_version field".into(),
            })?;
        if !upgrade::upgrade(&mut value, found) {
            return Err(ResultsError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        let mut results: Results =
            serde_json::from_value(value).map_err(|e| ResultsError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        results.schema_version = SCHEMA_VERSION;
        if results.cells.is_empty() {
            return Err(ResultsError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(results)
    }

    /// Writes the results atomically: a temporary file beside `path`, then a rename.
    pub fn save(&self, path: &Path) -> Result<(), ResultsError> {
        let json = serde_json::to_vec_pretty(self).expect("results serialize");
        write_atomically(path, &json)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    let err = |source| ResultsError::Write {
        path: path.to_path_buf(),
        cause: source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // tempfile creates 0600 files; reports are meant to be shared.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomically_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/results.json");
        write_atomically(&p, b"first").unwrap();
        write_atomically(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn load_refuses_unknown_version_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, r#"{"schema_version": 99}"#).unwrap();
        let e = Results::load(&p).unwrap_err().to_string();
        assert!(e.contains("schema version 99"), "{e}");
        std::fs::write(&p, "{\"schema_ver").unwrap();
        let e = Results::load(&p).unwrap_err().to_string();
        assert!(e.contains("is not a kafka-order-bench results file"), "{e}");
        let e = Results::load(&dir.path().join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
