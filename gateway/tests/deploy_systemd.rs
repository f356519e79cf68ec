//! The systemd unit (`deploy/systemd/`) runs, checks, reloads and stops the gateway as it
//! expects, and `systemd-analyze verify` accepts it where systemd is installed.

mod deploy_support;

use std::process::Command;
use std::time::Duration;

use deploy_support::files::{drain_timeout, example_toml, file_config};
use deploy_support::{deploy, read, run, shout, BIN};

#[test]
fn systemd_unit_fits_the_gateway() {
    let unit = read(&deploy().join("systemd/mtls-gateway.service"));
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .collect()
    };
    let one = |key: &str| -> &str {
        let v = get(key);
        assert_eq!(v.len(), 1, "{key}: {v:?}");
        v[0]
    };
    assert_eq!(one("Type"), "exec");
    assert_eq!(
        one("ExecStart"),
        "/usr/local/bin/mtls-gateway run --config /etc/mtls-gateway/gateway.toml"
    );
    assert_eq!(
        one("ExecStartPre"),
        "/usr/local/bin/mtls-gateway check --config /etc/mtls-gateway/gateway.toml"
    );
    assert!(get("ExecReload").contains(&"/bin/kill -HUP $MAINPID"));
    assert_eq!(one("KillSignal"), "SIGTERM");
    assert_eq!(
        one("RestartPreventExitStatus"),
        mtls_gateway::config::EXIT_CONFIG.to_string()
    );
    let config = file_config("gateway.example.toml", &example_toml());
    let stop: u64 = one("TimeoutStopSec")
        .parse()
        .expect("TimeoutStopSec in seconds");
    assert!(
        Duration::from_secs(stop) > drain_timeout(&config),
        "TimeoutStopSec > drain_timeout"
    );
    assert_eq!(
        one("LoadCredential"),
        "cname-api-key:/etc/mtls-gateway/cname-api-key"
    );

    // systemd's own verification, where systemd-analyze exists (it needs the executables to
    // exist, so the unit is verified with the binary under test in their place).
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mtls-gateway.service");
        std::fs::write(&path, unit.replace("/usr/local/bin/mtls-gateway", BIN)).expect("write");
        let out = run(Command::new("systemd-analyze").arg("verify").arg(&path));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("mtls-gateway.service:"),
            "systemd-analyze verify:\n{stderr}"
        );
    } else {
        shout("note: systemd-analyze not found; `systemd-analyze verify` not run");
    }
}
