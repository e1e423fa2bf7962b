//! Building the Java driver: its sources embedded in the binary, built once
//! per client version with Maven into the cache, named by the sources' hash.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cluster::{cache_dir, find_java};
use crate::driver::java::DriverError;

/// The driver's sources, built into the binary so `prepare` works from any
/// directory; their hash names the build, so an edited driver is rebuilt.
const SOURCES: &[(&str, &str)] = &[
    ("pom.xml", include_str!("../../../drivers/java/pom.xml")),
    (
        "src/main/java/kob/Driver.java",
        include_str!("../../../drivers/java/src/main/java/kob/Driver.java"),
    ),
    (
        "src/main/java/kob/Json.java",
        include_str!("../../../drivers/java/src/main/java/kob/Json.java"),
    ),
    (
        "src/main/java/kob/Stamp.java",
        include_str!("../../../drivers/java/src/main/java/kob/Stamp.java"),
    ),
    (
        "src/main/java/kob/Clock.java",
        include_str!("../../../drivers/java/src/main/java/kob/Clock.java"),
    ),
    (
        "src/main/java/kob/Phase.java",
        include_str!("../../../drivers/java/src/main/java/kob/Phase.java"),
    ),
    (
        "src/main/java/kob/Histograms.java",
        include_str!("../../../drivers/java/src/main/java/kob/Histograms.java"),
    ),
    (
        "src/main/java/kob/RoundWindows.java",
        include_str!("../../../drivers/java/src/main/java/kob/RoundWindows.java"),
    ),
    (
        "src/main/java/kob/FixedRatePhase.java",
        include_str!("../../../drivers/java/src/main/java/kob/FixedRatePhase.java"),
    ),
    (
        "src/main/java/kob/Outcomes.java",
        include_str!("../../../drivers/java/src/main/java/kob/Outcomes.java"),
    ),
    (
        "src/main/java/kob/Keys.java",
        include_str!("../../../drivers/java/src/main/java/kob/Keys.java"),
    ),
];

/// Builds the Java driver for a client version.
pub struct JavaDriver;

/// A built driver for one client version, ready to start sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaClient {
    /// The `org.apache.kafka:kafka-clients` version, e.g. `4.1.1`.
    pub version: String,
    /// The `-cp` argument: the driver's jar, the client and HdrHistogram.
    pub classpath: String,
    /// The `java` that runs it (17+).
    pub java: PathBuf,
}

impl JavaDriver {
    /// The driver for `version`, built once into the cache (`$KOB_CACHE_DIR`,
    /// else `~/.cache/kafka-order-bench`). Call at preflight: a version Maven
    /// cannot fetch fails here with a one-line error naming it.
    pub fn prepare(version: &str) -> Result<JavaClient, DriverError> {
        Self::prepare_in(version, &cache_dir())
    }

    /// [`prepare`](Self::prepare) with an explicit cache directory.
    pub fn prepare_in(version: &str, cache: &Path) -> Result<JavaClient, DriverError> {
        check_version(version)?;
        let java = find_java().map_err(|e| DriverError::Java(e.to_string()))?;
        let home = cache.join(format!("java-driver-{version}"));
        let hash = sources_hash();
        if let Some(classpath) = built_classpath(&home, &hash) {
            return Ok(JavaClient {
                version: version.into(),
                classpath,
                java: java.path,
            });
        }
        build(version, cache, &home, &hash)?;
        let classpath = built_classpath(&home, &hash).ok_or_else(|| DriverError::Build {
            version: version.into(),
            detail: format!(
                "no driver jar or classpath in {} after the build",
                home.display()
            ),
            log: mvn_log(cache, version),
        })?;
        Ok(JavaClient {
            version: version.into(),
            classpath,
            java: java.path,
        })
    }
}

/// Finds an executable on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Maven versions: letters, digits, `.`, `_`, `-`; nothing a path or a shell
/// could misread.
fn check_version(version: &str) -> Result<(), DriverError> {
    let ok = version
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && version.len() <= 64
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(DriverError::InvalidVersion {
            version: version.into(),
        })
    }
}

/// FNV-1a over every source's path and text.
fn sources_hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (path, text) in SOURCES {
        for b in path.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn mvn_log(cache: &Path, version: &str) -> PathBuf {
    cache.join(format!("java-driver-{version}.mvn.log"))
}

/// The classpath of a finished build of these sources, if there is one.
fn built_classpath(home: &Path, hash: &str) -> Option<String> {
    let stamp = std::fs::read_to_string(home.join("sources.hash")).ok()?;
    if stamp.trim() != hash {
        return None;
    }
    let jar = home.join("target").join("kob-java-driver.jar");
    let deps = std::fs::read_to_string(home.join("classpath.txt")).ok()?;
    jar.is_file()
        .then(|| format!("{}:{}", jar.display(), deps.trim()))
}

fn build(version: &str, cache: &Path, home: &Path, hash: &str) -> Result<(), DriverError> {
    let mvn = which("mvn").ok_or_else(|| DriverError::MavenMissing {
        version: version.into(),
    })?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| DriverError::Io {
            action,
            path,
            cause: source,
        }
    };
    std::fs::create_dir_all(cache).map_err(io("create", cache))?;
    let tmp = tempfile::Builder::new()
        .prefix(".java-driver-")
        .tempdir_in(cache)
        .map_err(io("create a directory in", cache))?;
    let staged = tmp.path().join("driver");
    for (rel, text) in SOURCES {
        let path = staged.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        std::fs::write(&path, text).map_err(io("write", &path))?;
    }
    let log = mvn_log(cache, version);
    let log_file = std::fs::File::create(&log).map_err(io("create", &log))?;
    let log_err = log_file.try_clone().map_err(io("open", &log))?;
    eprintln!(
        "building the Java driver for kafka-clients {version} with mvn into {} (once)…",
        home.display()
    );
    let status = Command::new(&mvn)
        .current_dir(&staged)
        .args(["-q", "-B", "-DskipTests"])
        .arg(format!("-Dkafka.version={version}"))
        .args([
            "package",
            "dependency:build-classpath",
            "-Dmdep.outputFile=classpath.txt",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(log_err))
        .status()
        .map_err(io("run", &mvn))?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(mvn_failure(version, &text, log));
    }
    std::fs::write(staged.join("sources.hash"), hash)
        .map_err(io("write", &staged.join("sources.hash")))?;
    // A stale build of older sources makes way; a parallel build that
    // finished first wins.
    if home.exists() && built_classpath(home, hash).is_none() {
        std::fs::remove_dir_all(home).map_err(io("remove", home))?;
    }
    match std::fs::rename(&staged, home) {
        Ok(()) => Ok(()),
        Err(_) if built_classpath(home, hash).is_some() => Ok(()),
        Err(source) => Err(DriverError::Io {
            action: "move the built driver to",
            path: home.to_path_buf(),
            cause: source,
        }),
    }
}

/// What a failed `mvn` run means: the client version does not resolve, or
/// the driver does not build against it.
fn mvn_failure(version: &str, log_text: &str, log: PathBuf) -> DriverError {
    let unresolved = log_text.lines().any(|l| {
        (l.contains("Could not resolve dependencies")
            || l.contains("Could not find artifact")
            || l.contains("was not found in"))
            && l.contains("kafka-clients")
    });
    if unresolved {
        return DriverError::CannotFetch {
            version: version.into(),
            log,
        };
    }
    let detail = log_text
        .lines()
        .find(|l| l.contains("[ERROR]"))
        .unwrap_or("mvn failed")
        .trim()
        .to_string();
    DriverError::Build {
        version: version.into(),
        detail,
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every XML file this binary writes for Maven parses (the class of bug
    /// of commit 067f134, where a comment holding `--` broke every build).
    #[test]
    fn the_files_it_writes_for_maven_parse() {
        for (name, text) in SOURCES.iter().filter(|(n, _)| n.ends_with(".xml")) {
            if let Err(e) = roxmltree::Document::parse(text) {
                panic!("{name}, as written for Maven: {e}");
            }
        }
        assert!(SOURCES.iter().any(|(n, _)| *n == "pom.xml"));
    }

    #[test]
    fn versions_are_checked_before_they_reach_a_path() {
        for ok in ["4.1.1", "3.9.1", "4.0.0-rc1", "2.8.2_x"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../4.1.1", "4.1.1/x", "-Dx", "4 1", "4.1.1;rm"] {
            let e = check_version(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid Java client version {bad:?} (hint: a Maven version such as 4.1.1 or 3.9.1)")
            );
        }
    }

    #[test]
    fn a_version_that_does_not_resolve_is_one_line_naming_it() {
        let log = "[ERROR] Failed to execute goal on project kob-java-driver: Could not resolve dependencies for project kafka-order-bench:kob-java-driver:jar:1: The following artifacts could not be resolved: org.apache.kafka:kafka-clients:jar:0.0.1 (absent): Could not find artifact org.apache.kafka:kafka-clients:jar:0.0.1 in central";
        let e = mvn_failure("0.0.1", log, PathBuf::from("/c/java-driver-0.0.1.mvn.log"));
        assert_eq!(
            e.to_string(),
            "Java client 0.0.1: Maven cannot fetch org.apache.kafka:kafka-clients:0.0.1 (log: /c/java-driver-0.0.1.mvn.log)"
        );
        let e = mvn_failure(
            "0.11.0.0",
            "[INFO] x\n[ERROR] Driver.java:[3,1] cannot find symbol\n",
            PathBuf::from("/l"),
        );
        assert_eq!(
            e.to_string(),
            "Java client 0.11.0.0: building the driver failed: [ERROR] Driver.java:[3,1] cannot find symbol (log: /l)"
        );
    }

    #[test]
    fn an_edit_to_any_source_changes_the_build_name() {
        let h = sources_hash();
        assert_eq!(h.len(), 16);
        assert_eq!(h, sources_hash());
        // Every Java source of the module is embedded (a new file must be listed).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drivers/java/src/main/java/kob");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SOURCES
            .iter()
            .filter_map(|(p, _)| p.strip_prefix("src/main/java/kob/"))
            .map(String::from)
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
