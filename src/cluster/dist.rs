//! The Apache Kafka broker the local cluster runs: its jars and a Java to run
//! them with.
//!
//! Jars come from `KAFKA_HOME` (an unpacked distribution, `$KAFKA_HOME/libs`)
//! or, by default, from Maven Central through `mvn` and `kafka/pom.xml`, fetched
//! once into `<cache>/kafka-<version>/libs` (cache: `$KOB_CACHE_DIR`, else
//! `~/.cache/kafka-order-bench`). The fetch goes to a temporary directory that
//! is renamed into place, so an interrupted fetch never leaves a half cache.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use super::proc::{tail, which};
use super::{create_dir_and_write, ClusterError};

/// The Apache Kafka release `kafka/pom.xml` pins.
pub const KAFKA_VERSION: &str = "4.1.1";

/// `kafka/pom.xml`, built into the binary so it works from any directory.
const POM_XML: &str = include_str!("../../kafka/pom.xml");

/// Where a Kafka distribution's jars are, and which release they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaDist {
    /// Directory holding `kafka_2.13-<version>.jar` and its dependencies.
    pub libs: PathBuf,
    /// Broker version read from the jar names, e.g. `4.1.1`.
    pub version: String,
}

/// The cache directory: `$KOB_CACHE_DIR`, else `$XDG_CACHE_HOME/kafka-order-bench`,
/// else `~/.cache/kafka-order-bench`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KOB_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("kafka-order-bench");
    }
    let home = std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache").join("kafka-order-bench")
}

/// Finds the Kafka jars: `kafka_home` (or `$KAFKA_HOME`) when set, else the
/// cache, fetching the pinned release with `mvn` the first time.
pub fn resolve_kafka(kafka_home: Option<&Path>, cache: &Path) -> Result<KafkaDist, ClusterError> {
    resolve_kafka_version(kafka_home, cache, KAFKA_VERSION)
}

/// [`resolve_kafka`] for the broker release `version` (`--kafka-version`):
/// fetched from Maven Central by name into `<cache>/kafka-<version>` the
/// first time. `kafka_home` (or `$KAFKA_HOME`) wins when set; its jars say
/// which release it is.
pub fn resolve_kafka_version(
    kafka_home: Option<&Path>,
    cache: &Path,
    version: &str,
) -> Result<KafkaDist, ClusterError> {
    let env_home = std::env::var_os("KAFKA_HOME").filter(|h| !h.is_empty());
    if let Some(home) = kafka_home
        .map(Path::to_path_buf)
        .or(env_home.map(PathBuf::from))
    {
        let libs = home.join("libs");
        return match version_from_jars(&libs) {
            Some(version) => Ok(KafkaDist { libs, version }),
            None => Err(ClusterError::BadKafkaHome {
                path: home,
                reason: format!("no kafka_2.13-<version>.jar in {}", libs.display()),
            }),
        };
    }
    if !plain_version(version) {
        return Err(ClusterError::MavenFailed {
            version: version.into(),
            detail: "not a Maven version (expected e.g. 4.1.1)".into(),
        });
    }
    let home = cache.join(format!("kafka-{version}"));
    let libs = home.join("libs");
    if let Some(found) = version_from_jars(&libs) {
        return Ok(KafkaDist {
            libs,
            version: found,
        });
    }
    fetch_with_maven(cache, &home, version)?;
    match version_from_jars(&libs) {
        Some(found) => Ok(KafkaDist {
            libs,
            version: found,
        }),
        None => Err(ClusterError::MavenFailed {
            version: version.into(),
            detail: format!("no kafka_2.13 jar in {} after the fetch", libs.display()),
        }),
    }
}

/// Letters, digits, `.`, `_`, `-`, starting with a digit: nothing a path or
/// a command line could misread.
fn plain_version(v: &str) -> bool {
    v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Reads the broker version from the name of the `kafka_<scala>-<version>.jar`
/// in `libs`.
pub fn version_from_jars(libs: &Path) -> Option<String> {
    let entries = std::fs::read_dir(libs).ok()?;
    let mut versions: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| broker_jar_version(&name))
        .collect();
    versions.sort();
    versions.pop()
}

/// `kafka_2.13-4.1.1.jar` → `4.1.1`; anything else (sources, tests, clients) → None.
fn broker_jar_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("kafka_")?.strip_suffix(".jar")?;
    let (scala, version) = rest.split_once('-')?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    (plain(scala)
        && version.chars().next()?.is_ascii_digit()
        && !version.contains("-test")
        && !version.contains("-sources")
        && !version.contains("-javadoc"))
    .then(|| version.to_string())
}

/// Fetches the jars of Kafka `version` with `mvn` into a temporary directory
/// under `cache`, then renames it to `home`.
fn fetch_with_maven(cache: &Path, home: &Path, version: &str) -> Result<(), ClusterError> {
    let mvn = which("mvn").ok_or_else(|| ClusterError::MavenMissing {
        version: version.into(),
        dest: home.to_path_buf(),
    })?;
    std::fs::create_dir_all(cache).map_err(|source| ClusterError::Io {
        action: "create",
        path: cache.to_path_buf(),
        cause: source,
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(cache)
        .map_err(|source| ClusterError::Io {
            action: "create a directory in",
            path: cache.to_path_buf(),
            cause: source,
        })?;
    let staged = tmp.path().join("kafka");
    let pom = tmp.path().join("pom.xml");
    create_dir_and_write(
        &staged,
        &[(&pom, POM_XML), (&staged.join("pom.xml"), POM_XML)],
    )?;
    let log = tmp.path().join("mvn.log");
    let log_file = std::fs::File::create(&log).map_err(|source| ClusterError::Io {
        action: "create",
        path: log.clone(),
        cause: source,
    })?;
    eprintln!(
        "fetching Apache Kafka {version} jars with mvn into {} (once)…",
        home.display()
    );
    let status = copy_dependencies(&mvn, &pom, version, &staged.join("libs"), &log, log_file)?;
    if !status.success() {
        return Err(ClusterError::MavenFailed {
            version: version.into(),
            detail: format!("mvn exited with {status}:\n{}", tail(&log, 15)),
        });
    }
    move_into_place(&staged, home)
}

/// Runs `mvn dependency:copy-dependencies` on `pom` for Kafka `version`,
/// copying the jars to `libs`; its output goes to `log`, open as `log_file`.
fn copy_dependencies(
    mvn: &Path,
    pom: &Path,
    version: &str,
    libs: &Path,
    log: &Path,
    log_file: std::fs::File,
) -> Result<ExitStatus, ClusterError> {
    Command::new(mvn)
        .arg("-q")
        .arg("-B")
        .arg("-f")
        .arg(pom)
        .arg(format!("-Dkafka.version={version}"))
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", libs.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone().map_err(|source| {
            ClusterError::Io {
                action: "open",
                path: log.to_path_buf(),
                cause: source,
            }
        })?))
        .stderr(Stdio::from(log_file))
        .status()
        .map_err(|source| ClusterError::Io {
            action: "run",
            path: mvn.to_path_buf(),
            cause: source,
        })
}

/// Renames the fetched distribution `staged` to `home`.
fn move_into_place(staged: &Path, home: &Path) -> Result<(), ClusterError> {
    match std::fs::rename(staged, home) {
        Ok(()) => Ok(()),
        // Someone else (a parallel test, another shell) finished first: theirs wins.
        Err(_) if version_from_jars(&home.join("libs")).is_some() => Ok(()),
        Err(source) => Err(ClusterError::Io {
            action: "move the fetched jars to",
            path: home.to_path_buf(),
            cause: source,
        }),
    }
}

/// A Java runtime that can run the broker (17 or newer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    pub path: PathBuf,
    /// Feature release, e.g. 17 or 21.
    pub major: u32,
}

/// Finds `java`: `$JAVA_HOME/bin/java`, else the one on `PATH`; checks it is 17+.
pub fn find_java() -> Result<Java, ClusterError> {
    let from_home = std::env::var_os("JAVA_HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file());
    let path = from_home
        .or_else(|| which("java"))
        .ok_or(ClusterError::JavaMissing)?;
    let out = Command::new(&path)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ClusterError::Io {
            action: "run",
            path: path.clone(),
            cause: source,
        })?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let major = java_major(&text).ok_or_else(|| ClusterError::JavaVersion {
        java: path.clone(),
        found: text.lines().next().unwrap_or("no output").to_string(),
    })?;
    if major < 17 {
        return Err(ClusterError::JavaVersion {
            java: path,
            found: format!("Java {major}"),
        });
    }
    Ok(Java { path, major })
}

/// `openjdk version "17.0.15" …` → 17; `java version "1.8.0_292"` → 8.
fn java_major(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_version_comes_from_the_scala_jar() {
        assert_eq!(
            broker_jar_version("kafka_2.13-4.1.1.jar").as_deref(),
            Some("4.1.1")
        );
        assert_eq!(
            broker_jar_version("kafka_2.12-3.7.0.jar").as_deref(),
            Some("3.7.0")
        );
        assert_eq!(broker_jar_version("kafka_2.13-4.1.1-test.jar"), None);
        assert_eq!(broker_jar_version("kafka_2.13-4.1.1-sources.jar"), None);
        assert_eq!(broker_jar_version("kafka-clients-4.1.1.jar"), None);
        assert_eq!(broker_jar_version("kafka-server-4.1.1.jar"), None);
    }

    #[test]
    fn version_from_a_libs_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(version_from_jars(dir.path()), None);
        std::fs::write(dir.path().join("kafka-clients-4.1.1.jar"), "").unwrap();
        std::fs::write(dir.path().join("kafka_2.13-4.1.1.jar"), "").unwrap();
        assert_eq!(version_from_jars(dir.path()).as_deref(), Some("4.1.1"));
        assert_eq!(version_from_jars(&dir.path().join("nope")), None);
    }

    #[test]
    fn java_major_versions() {
        assert_eq!(
            java_major("openjdk version \"17.0.15\" 2025-04-15"),
            Some(17)
        );
        assert_eq!(java_major("openjdk version \"21\" 2023-09-19"), Some(21));
        assert_eq!(java_major("java version \"1.8.0_292\""), Some(8));
        assert_eq!(java_major("garbage"), None);
    }

    #[test]
    fn broker_versions_by_name_are_checked() {
        for ok in ["4.1.1", "3.9.1", "4.0.0-rc2"] {
            assert!(plain_version(ok), "{ok}");
        }
        for bad in ["", "x4", "../4.1.1", "4.1.1 -Dx=y", "4/1"] {
            assert!(!plain_version(bad), "{bad}");
        }
        if std::env::var_os("KAFKA_HOME").is_none() {
            let dir = tempfile::tempdir().unwrap();
            let e = resolve_kafka_version(None, dir.path(), "../x").unwrap_err();
            assert_eq!(
                e.to_string(),
                "mvn could not fetch Apache Kafka ../x (hint: check access to Maven Central, or set KAFKA_HOME to an unpacked Kafka distribution): not a Maven version (expected e.g. 4.1.1)"
            );
        }
    }

    #[test]
    fn pom_pins_the_version_in_the_code() {
        assert!(POM_XML.contains(&format!("<kafka.version>{KAFKA_VERSION}</kafka.version>")));
        assert!(POM_XML.contains("<artifactId>kafka_2.13</artifactId>"));
        // `--kafka-version` overrides it on mvn's command line.
        assert!(POM_XML.contains("<version>${kafka.version}</version>"));
    }

    /// The pom this binary writes for Maven is well-formed XML: an XML
    /// comment holding `--` once broke every cold start (commit 067f134).
    #[test]
    fn the_pom_it_writes_for_maven_parses() {
        if let Err(e) = roxmltree::Document::parse(POM_XML) {
            panic!("kafka/pom.xml, as written for Maven: {e}");
        }
    }
}
