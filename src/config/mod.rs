//! Configuration: structs with their defaults, loading (defaults < file < env < flags) and
//! validation. Loading never writes a file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod import;
pub use import::{lexical_absolute, ImportConfig, ImportMode, WatchMode};

/// Prefix of environment overrides: `PHOTOX_<SECTION>__<KEY>`.
pub const ENV_PREFIX: &str = "PHOTOX_";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub tagging: TaggingConfig,
    pub jobs: JobsConfig,
    pub uploads: UploadsConfig,
    pub import: Vec<ImportConfig>,
    pub mirror: MirrorConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub cors_origins: Vec<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A request's head must arrive within this, counted from its first byte (on a new
    /// connection, from the connect).
    pub header_timeout: HumanDuration,
    /// A keep-alive connection without a request in flight is closed after this.
    pub idle_timeout: HumanDuration,
    /// The longest pause while a request or response body is on its way: a request whose body
    /// stalls this long fails (4xx), a client that stops reading a response is dropped.
    pub body_timeout: HumanDuration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:3333".into(),
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
            header_timeout: HumanDuration(Duration::from_secs(30)),
            idle_timeout: HumanDuration(Duration::from_secs(60)),
            body_timeout: HumanDuration(Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub max_upload_mb: u64,
    pub min_free_mb: u64,
    pub trash_retention_days: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./photox-data"),
            max_upload_mb: 50,
            min_free_mb: 512,
            trash_retention_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    #[default]
    Open,
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub registration: Registration,
    pub access_ttl: HumanDuration,
    pub refresh_ttl: HumanDuration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            registration: Registration::Open,
            access_ttl: HumanDuration(Duration::from_secs(15 * 60)),
            refresh_ttl: HumanDuration(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub login_per_minute: u32,
    pub upload_per_minute: u32,
    pub requests_per_minute: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            login_per_minute: 5,
            upload_per_minute: 60,
            requests_per_minute: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TaggingConfig {
    pub enabled: bool,
    pub min_confidence: f32,
    /// The model is dropped after this long without a photo to tag (and loaded again on use).
    pub idle_unload: HumanDuration,
}

impl Default for TaggingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_confidence: 0.3,
            idle_unload: HumanDuration(Duration::from_secs(5 * 60)),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// 0 means one worker per core.
    pub workers: usize,
}

/// Resumable (tus) uploads, API.md §5.1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// An unfinished upload is removed this long after its creation or its last write.
    pub expire_after: HumanDuration,
    /// Unfinished uploads one user may hold at once.
    pub max_pending_per_user: u32,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            expire_after: HumanDuration(Duration::from_secs(24 * 3600)),
            max_pending_per_user: 20,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MirrorDelete {
    #[default]
    Keep,
    Propagate,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MirrorConfig {
    pub enabled: bool,
    pub service: String,
    pub delete: MirrorDelete,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    #[default]
    Auto,
    Journald,
    Stderr,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub target: LogTarget,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            target: LogTarget::Auto,
        }
    }
}

/// A duration written as `"90s"`, `"15m"`, `"30d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("{0}")]
    Parse(String),
    #[error("invalid value for `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl Config {
    /// Loads defaults < `file` < `PHOTOX_*` environment < `overrides`, then validates.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, overrides, Env::prefixed(ENV_PREFIX))
    }

    fn load_with_env(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let sections = config_sections();
        let env = env.filter(move |key| is_config_var(key.as_str(), &sections));
        figment = figment.merge(env.split("__"));
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(("server.listen", listen));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(("storage.data_dir", dir));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Parse(describe_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.to_string(),
                message: message.to_string(),
            })
        };
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return invalid(
                "server.listen",
                "expected an address such as \"0.0.0.0:3333\"",
            );
        }
        for origin in &self.server.cors_origins {
            if !is_valid_origin(origin) {
                return invalid(
                    "server.cors_origins",
                    "each origin must look like \"https://host[:port]\" without a path",
                );
            }
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return invalid(
                "server.tls_cert",
                "tls_cert and tls_key must be set together",
            );
        }
        for (key, value) in [
            ("server.header_timeout", self.server.header_timeout),
            ("server.idle_timeout", self.server.idle_timeout),
            ("server.body_timeout", self.server.body_timeout),
        ] {
            if value.0 < Duration::from_secs(1) {
                return invalid(key, "must be at least one second");
            }
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return invalid("storage.data_dir", "must not be empty");
        }
        if self.storage.max_upload_mb == 0 {
            return invalid("storage.max_upload_mb", "must be at least 1");
        }
        if self.auth.access_ttl.0.as_secs() == 0 {
            return invalid("auth.access_ttl", "must be at least one second");
        }
        if self.auth.refresh_ttl.0 <= self.auth.access_ttl.0 {
            return invalid("auth.refresh_ttl", "must be longer than auth.access_ttl");
        }
        let limits = &self.limits;
        if limits.login_per_minute == 0
            || limits.upload_per_minute == 0
            || limits.requests_per_minute == 0
        {
            return invalid("limits", "every limit must be at least 1 per minute");
        }
        let confidence = self.tagging.min_confidence;
        if !(confidence > 0.0 && confidence <= 1.0) {
            return invalid("tagging.min_confidence", "must be in (0, 1]");
        }
        if self.tagging.idle_unload.0 < Duration::from_secs(1) {
            return invalid("tagging.idle_unload", "must be at least one second");
        }
        if self.uploads.expire_after.0 < Duration::from_secs(1) {
            return invalid("uploads.expire_after", "must be at least one second");
        }
        if self.uploads.max_pending_per_user == 0 {
            return invalid("uploads.max_pending_per_user", "must be at least 1");
        }
        if self.mirror.enabled && self.mirror.service.trim().is_empty() {
            return invalid("mirror.service", "required when mirror.enabled = true");
        }
        self.validate_imports()?;
        if self.log.level.parse::<log::LevelFilter>().is_err() {
            return invalid(
                "log.level",
                "expected off, error, warn, info, debug or trace",
            );
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.server
            .listen
            .parse()
            .expect("server.listen is validated at load")
    }

    pub fn log_level(&self) -> log::LevelFilter {
        self.log.level.parse().unwrap_or(log::LevelFilter::Info)
    }

    /// The effective configuration for display, with secrets replaced by `"********"`.
    pub fn masked(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(options) = value
            .pointer_mut("/mirror/options")
            .and_then(|v| v.as_object_mut())
        {
            for (key, v) in options.iter_mut() {
                if is_secret_key(key) {
                    *v = serde_json::Value::String("********".into());
                }
            }
        }
        value
    }
}

/// The top-level tables of the configuration (`server`, `storage`, ...).
fn config_sections() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Whether `name` (without the `PHOTOX_` prefix) is of the documented form `<SECTION>__<KEY>`
/// with a known section. Anything else under the prefix (`PHOTOX_CONFIG`, `PHOTOX_CI_TARGET_DIR`,
/// a tool's own variable) is not configuration. A known section with an unknown key still
/// reaches the configuration, where it is refused by name.
fn is_config_var(name: &str, sections: &[String]) -> bool {
    match name.split_once("__") {
        Some((section, key)) => {
            !key.is_empty() && sections.iter().any(|s| s.eq_ignore_ascii_case(section))
        }
        None => false,
    }
}

/// Environment variables that start with `PHOTOX_` but are not configuration (see
/// `is_config_var`), for a warning: they are ignored.
pub fn ignored_env_vars() -> Vec<String> {
    let sections = config_sections();
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.get(..ENV_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
        })
        .filter(|name| {
            let rest = &name[ENV_PREFIX.len()..];
            !rest.eq_ignore_ascii_case("CONFIG") && !is_config_var(rest, &sections)
        })
        .collect()
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "password", "token", "key", "credential"]
        .iter()
        .any(|word| key.contains(word))
}

fn is_valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains('/')
        && !rest.contains(char::is_whitespace)
}

/// Turns figment's error into one line per problem naming the key (`server.listen`).
fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let mut line = if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("`{key}`: {}", e.kind)
            };
            if let Some(source) = e.metadata.as_ref().map(|m| m.name.to_string()) {
                line.push_str(&format!(" (from {source})"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
