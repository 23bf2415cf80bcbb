//! Unit tests of the configuration: defaults, precedence, validation.

use super::*;
use std::io::Write;

fn write_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// Loads with an environment prefix that nothing sets, so the real environment is ignored.
fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    let env = Env::prefixed("PHOTOX_UNIT_TEST_UNSET_");
    Config::load_with_env(file, &Overrides::default(), env)
}

#[test]
fn defaults_match_the_contract() {
    let c = Config::default();
    assert_eq!(c.server.listen, "0.0.0.0:3333");
    assert_eq!(c.storage.data_dir, PathBuf::from("./photox-data"));
    assert_eq!(c.storage.max_upload_mb, 50);
    assert_eq!(c.storage.min_free_mb, 512);
    assert_eq!(c.storage.trash_retention_days, 30);
    assert_eq!(c.auth.access_ttl.0, Duration::from_secs(900));
    assert_eq!(c.auth.refresh_ttl.0, Duration::from_secs(30 * 86400));
    assert_eq!(c.limits.login_per_minute, 5);
    c.validate().unwrap();
}

#[test]
fn unknown_key_is_named() {
    let file = write_file("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n");
    let err = load(Some(file.path())).unwrap_err();
    assert!(err.to_string().contains("listne"), "{err}");
}

#[test]
fn bad_value_is_named() {
    let file = write_file("[auth]\naccess_ttl = \"soon\"\n");
    let err = load(Some(file.path())).unwrap_err();
    assert!(err.to_string().contains("auth.access_ttl"), "{err}");
}

#[test]
fn tagging_idle_unload_is_a_duration_of_at_least_a_second() {
    assert_eq!(
        Config::default().tagging.idle_unload.0,
        Duration::from_secs(300)
    );
    let file = write_file("[tagging]\nidle_unload = \"90s\"\n");
    let config = load(Some(file.path())).unwrap();
    assert_eq!(config.tagging.idle_unload.0, Duration::from_secs(90));
    let file = write_file("[tagging]\nidle_unload = \"0s\"\n");
    let err = load(Some(file.path())).unwrap_err();
    assert!(err.to_string().contains("tagging.idle_unload"), "{err}");
}

#[test]
fn missing_file_is_an_error() {
    let err = load(Some(Path::new("/nonexistent/photox.toml")));
    assert!(matches!(err, Err(ConfigError::Missing(_))));
}

#[test]
fn masked_hides_secret_options() {
    let mut c = Config::default();
    c.mirror
        .options
        .insert("secret_access_key".into(), "hunter2".into());
    c.mirror.options.insert("bucket".into(), "photos".into());
    let masked = c.masked().to_string();
    assert!(!masked.contains("hunter2"));
    assert!(masked.contains("photos"));
}

#[test]
fn only_section_and_key_variables_are_configuration() {
    let sections = config_sections();
    assert!(sections.iter().any(|s| s == "server"));
    assert!(is_config_var("SERVER__LISTEN", &sections));
    assert!(is_config_var("log__level", &sections));
    // A known section with an unknown key is passed on, to be refused by name.
    assert!(is_config_var("SERVER__LISTNE", &sections));
    for other in [
        "CONFIG",
        "CI_TARGET_DIR",
        "TEST_LOG",
        "SERVER",
        "NOPE__KEY",
        "SERVER__",
    ] {
        assert!(!is_config_var(other, &sections), "{other}");
    }
}

#[test]
fn connection_timeouts_default_and_must_be_a_second_or_more() {
    let server = Config::default().server;
    assert_eq!(server.header_timeout.0, Duration::from_secs(30));
    assert_eq!(server.idle_timeout.0, Duration::from_secs(60));
    assert_eq!(server.body_timeout.0, Duration::from_secs(60));
    let file = write_file("[server]\nidle_timeout = \"2s\"\nbody_timeout = \"90s\"\n");
    let config = load(Some(file.path())).unwrap();
    assert_eq!(config.server.idle_timeout.0, Duration::from_secs(2));
    assert_eq!(config.server.body_timeout.0, Duration::from_secs(90));
    let file = write_file("[server]\nheader_timeout = \"500ms\"\n");
    let err = load(Some(file.path())).unwrap_err();
    assert!(err.to_string().contains("server.header_timeout"), "{err}");
}

#[test]
fn uploads_default_to_a_day_and_twenty_and_are_checked() {
    let uploads = Config::default().uploads;
    assert_eq!(uploads.expire_after.0, Duration::from_secs(86400));
    assert_eq!(uploads.max_pending_per_user, 20);
    let file = write_file("[uploads]\nexpire_after = \"2h\"\nmax_pending_per_user = 3\n");
    let config = load(Some(file.path())).unwrap();
    assert_eq!(config.uploads.expire_after.0, Duration::from_secs(7200));
    assert_eq!(config.uploads.max_pending_per_user, 3);
    let file = write_file("[uploads]\nmax_pending_per_user = 0\n");
    let err = load(Some(file.path())).unwrap_err();
    assert!(
        err.to_string().contains("uploads.max_pending_per_user"),
        "{err}"
    );
}

#[test]
fn origins_are_checked() {
    assert!(is_valid_origin("https://nas.local:8080"));
    assert!(!is_valid_origin("nas.local"));
    assert!(!is_valid_origin("https://nas.local/app"));
}
