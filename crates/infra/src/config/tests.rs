//! Configuration tests, in a figment `Jail` (its own environment and directory).
// `Jail::expect_with` closures must return `figment::Result`, whose error is large.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

#[derive(Serialize, Default)]
struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

fn load_with(flags: Flags) -> Result<Settings, ConfigError> {
    load(&CommonArgs::default(), &flags)
}

#[test]
fn defaults_come_from_the_documented_file() {
    Jail::expect_with(|jail| {
        jail.set_env("HOME", "/home/someone");
        let s = load_with(Flags::default()).unwrap();
        assert_eq!(s.port, 8080);
        assert_eq!(s.internal_host, "127.0.0.1");
        assert_eq!(s.public_url(None), "http://127.0.0.1:8080");
        assert_eq!(s.public_url(Some(9)), "http://127.0.0.1:9");
        assert!(!s.disable_signup_without_link);
        assert_eq!(
            s.data_dir,
            PathBuf::from("/home/someone/.local/share/ls-users")
        );
        assert_eq!(
            s.database,
            DatabaseTarget::Sqlite(PathBuf::from(
                "/home/someone/.local/share/ls-users/ls-users.sqlite3"
            ))
        );
        assert_eq!(s.password_policy, PasswordPolicy::default());
        Ok(())
    });
}

#[test]
fn precedence_defaults_file_env_flags() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "ls.toml",
            "port = 7000\nusername = \"file@example.com\"\nlog = \"debug\"",
        )?;
        jail.set_env("LS_CONFIG", "ls.toml");
        let s = load_with(Flags::default()).unwrap();
        assert_eq!(
            (s.port, s.username.as_deref(), s.log.as_str()),
            (7000, Some("file@example.com"), "debug")
        );

        jail.set_env("LABEL_STUDIO_PORT", "7100");
        jail.set_env("LABEL_STUDIO_USERNAME", "env@example.com");
        let s = load_with(Flags::default()).unwrap();
        assert_eq!(
            (s.port, s.username.as_deref()),
            (7100, Some("env@example.com"))
        );

        jail.set_env("LS_PORT", "7200");
        assert_eq!(load_with(Flags::default()).unwrap().port, 7200);

        let s = load_with(Flags {
            port: Some(7300),
            username: Some("flag@example.com".into()),
        })
        .unwrap();
        assert_eq!(
            (s.port, s.username.as_deref()),
            (7300, Some("flag@example.com"))
        );
        Ok(())
    });
}

#[test]
fn label_studio_booleans() {
    for (word, expected) in [
        ("true", true),
        ("YES", true),
        ("on", true),
        ("1", true),
        ("false", false),
        ("no", false),
        ("Off", false),
        ("0", false),
    ] {
        Jail::expect_with(|jail| {
            jail.set_env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", word);
            assert_eq!(
                load_with(Flags::default())
                    .unwrap()
                    .disable_signup_without_link,
                expected,
                "{word}"
            );
            Ok(())
        });
    }
}

#[test]
fn bad_values_name_their_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "maybe");
        let err = load_with(Flags::default()).unwrap_err().to_string();
        assert!(
            err.contains("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"),
            "{err}"
        );
        assert!(err.contains("maybe"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("LABEL_STUDIO_PORT", "eighty");
        let err = load_with(Flags::default()).unwrap_err().to_string();
        assert!(err.contains("LABEL_STUDIO_PORT"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("LS_PASSWORD_MIN_LENGTH", "200");
        let err = load_with(Flags::default()).unwrap_err().to_string();
        assert!(err.contains("password_min_length"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("LS_HOST", "ftp://x");
        assert!(
            load_with(Flags::default())
                .unwrap_err()
                .to_string()
                .contains("host")
        );
        Ok(())
    });
}

#[test]
fn missing_config_file_is_an_error() {
    Jail::expect_with(|jail| {
        jail.set_env("LS_CONFIG", "nope.toml");
        let err = load_with(Flags::default()).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn database_url_sources() {
    Jail::expect_with(|jail| {
        jail.set_env("DATABASE_URL", "postgres://a@127.0.0.1/x");
        assert_eq!(
            load_with(Flags::default()).unwrap().database,
            DatabaseTarget::Postgres(SecretString::new("postgres://a@127.0.0.1/x"))
        );
        jail.set_env("LS_DATABASE_URL", "postgres://b@127.0.0.1/y");
        assert_eq!(
            load_with(Flags::default()).unwrap().database,
            DatabaseTarget::Postgres(SecretString::new("postgres://b@127.0.0.1/y"))
        );
        jail.set_env("LS_DATABASE_URL", "mysql://nope");
        assert!(
            load_with(Flags::default())
                .unwrap_err()
                .to_string()
                .contains("database_url")
        );
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_and_public_url_normalised() {
    Jail::expect_with(|jail| {
        jail.set_env("LABEL_STUDIO_PASSWORD", "hunter2-but-longer");
        jail.set_env("LABEL_STUDIO_USER_TOKEN", "tok-secret-123");
        jail.set_env("LABEL_STUDIO_HOST", "https://labels.example.com/ls/");
        jail.set_env("LABEL_STUDIO_BASE_DATA_DIR", "/srv/ls");
        let s = load_with(Flags::default()).unwrap();
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("tok-secret"),
            "{dbg}"
        );
        assert_eq!(s.public_url(Some(1)), "https://labels.example.com/ls");
        assert_eq!(s.data_dir, PathBuf::from("/srv/ls"));
        Ok(())
    });
}

#[test]
fn unknown_keys_and_variables_are_refused_with_the_nearest_known_one() {
    Jail::expect_with(|jail| {
        jail.create_file("ls.toml", "prot = 18417\n")?;
        jail.set_env("LS_CONFIG", "ls.toml");
        let e = load_with(Flags::default()).unwrap_err().to_string();
        assert!(e.contains("prot (from ") && e.contains("ls.toml"), "{e}");
        assert!(e.contains("did you mean `port`?"), "{e}");
        jail.create_file("ls.toml", "body_limt = 10\n")?;
        let e = load_with(Flags::default()).unwrap_err().to_string();
        assert!(e.contains("did you mean `body_limit`?"), "{e}");
        jail.create_file("ls.toml", "port = 7000\n")?;
        assert_eq!(load_with(Flags::default()).unwrap().port, 7000);
        jail.set_env("LS_NO_SUCH", "1");
        let s = load_with(Flags::default()).unwrap();
        assert!(
            s.warnings[0].contains("LS_NO_SUCH (from the environment)"),
            "{:?}",
            s.warnings
        );
        jail.set_env("LS_PROT", "1");
        let e = load_with(Flags::default()).unwrap_err().to_string();
        assert!(e.contains("did you mean `LS_PORT`?"), "{e}");
        Ok(())
    });
}

#[test]
fn log_filters_are_checked() {
    Jail::expect_with(|jail| {
        jail.create_file("ls.toml", "log = \"nonsense[[[\"\n")?;
        jail.set_env("LS_CONFIG", "ls.toml");
        let e = load_with(Flags::default()).unwrap_err().to_string();
        assert!(e.contains("log") && e.contains("not a log filter"), "{e}");
        jail.set_env("LS_LOG", "=[[[");
        let e = load_with(Flags::default()).unwrap_err().to_string();
        assert!(e.contains("the environment variable LS_LOG"), "{e}");
        jail.set_env("LS_LOG", "info,ls_http=debug");
        assert!(load_with(Flags::default()).is_ok());
        Ok(())
    });
}
