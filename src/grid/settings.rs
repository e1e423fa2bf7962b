//! The producer settings: the grid's axes (`max.in.flight`, `acks`,
//! `enable.idempotence`), the client that runs them, and compression.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The producer's `acks` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acks {
    /// `acks=0`: the producer does not wait for the broker.
    Zero,
    /// `acks=1`: the leader acknowledges after its own append.
    One,
    /// `acks=all`: the leader acknowledges once every in-sync replica has it.
    All,
}

impl Acks {
    /// The value librdkafka takes for `acks`.
    pub fn as_config(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_config())
    }
}

impl FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "0" => Ok(Acks::Zero),
            "1" => Ok(Acks::One),
            "all" | "-1" => Ok(Acks::All),
            other => Err(format!(
                "unknown acks value {other:?} (expected 0, 1 or all)"
            )),
        }
    }
}

impl Serialize for Acks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_config())
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Accept `acks = 1` as well as `acks = "1"`: both appear in real configs.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(i) => i.to_string(),
            Raw::Str(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Compression codec (`compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn as_config(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "snappy" => Ok(Compression::Snappy),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "unknown compression {other:?} (expected none, gzip, snappy, lz4 or zstd)"
            )),
        }
    }
}

/// The producer client a cell runs: librdkafka in-process, or the Apache
/// Kafka Java client at a version fetched from Maven Central.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Client {
    #[default]
    Librdkafka,
    Java(String),
}

impl Client {
    /// The form used in cell ids: nothing for librdkafka (ids stay as they
    /// were before there was a client axis), `java-4.1.1` for Java.
    pub fn slug(&self) -> Option<String> {
        match self {
            Client::Librdkafka => None,
            Client::Java(v) => Some(format!("java-{v}")),
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Librdkafka => f.write_str("librdkafka"),
            Client::Java(v) => write!(f, "java:{v}"),
        }
    }
}

impl FromStr for Client {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.split_once(':') {
            None if s == "librdkafka" => Ok(Client::Librdkafka),
            None if s == "java" => Ok(Client::Java(DEFAULT_JAVA_CLIENT.into())),
            Some(("java", v))
                if !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')) =>
            {
                Ok(Client::Java(v.into()))
            }
            _ => Err(format!(
                "unknown client {s:?} (expected librdkafka, java or java:VERSION, e.g. java:4.1.1)"
            )),
        }
    }
}

impl Serialize for Client {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Client {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The Java client version `java` alone means: the broker's.
pub const DEFAULT_JAVA_CLIENT: &str = "4.1.1";

/// The three settings this suite is about: one point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProducerSettings {
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: u32,
    /// `acks`.
    pub acks: Acks,
    /// `enable.idempotence`.
    pub idempotence: bool,
}

impl ProducerSettings {
    /// Stable, readable id, e.g. `inflight=5,acks=all,idem=true`.
    pub fn id(&self) -> String {
        format!(
            "inflight={},acks={},idem={}",
            self.max_in_flight, self.acks, self.idempotence
        )
    }
}
