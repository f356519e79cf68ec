//! The compose file (`deploy/compose.yaml`) fits the example configuration it mounts: every file
//! it names is mounted, its ports are published, the stop grace period covers the drain
//! deadline, and Prometheus scrapes the admin listener.

mod deploy_support;

use deploy_support::deploy;
use deploy_support::files::{
    drain_timeout, example_toml, file_config, load_yaml, pyyaml_available, socket_port,
};

#[test]
fn compose_file_fits_the_example_configuration() {
    if !pyyaml_available() {
        return;
    }
    let compose = load_yaml(&deploy().join("compose.yaml")).remove(0);
    let config = file_config("gateway.example.toml", &example_toml());
    let services = &compose["services"];
    for name in ["gateway", "demo", "prometheus"] {
        assert!(services[name].is_object(), "service {name}");
    }
    let gateway = &services["gateway"];
    assert_eq!(gateway["build"]["dockerfile"], "deploy/Containerfile");
    assert!(gateway["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .any(|v| v == "./gateway.example.toml:/etc/mtls-gateway/gateway.toml:ro"));
    // Every file the configuration names is mounted, the API key as a compose secret, which
    // appears as /run/secrets/<name>.
    let mounts: Vec<&str> = gateway["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str()?.split(':').nth(1))
        .collect();
    let d = &config.domains[0];
    let mut files = vec![d.cert.as_str(), d.key.as_str()];
    files.extend(d.mtls.client_ca.iter().map(|ca| ca.file()));
    files.extend(d.mtls.crl.iter().map(String::as_str));
    files.extend(d.mtls.deny_list.as_deref());
    files.extend(d.mtls.registry.as_deref());
    files.extend(d.upstream.ca_file.as_deref());
    for f in files {
        assert!(
            mounts
                .iter()
                .any(|m| f == *m || f.starts_with(&format!("{}/", m.trim_end_matches('/')))),
            "{f} is not mounted into the gateway service ({mounts:?})"
        );
    }
    assert_eq!(
        config.domains[0].api_key_file.as_deref(),
        Some("/run/secrets/cname-api-key")
    );
    assert!(gateway["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .any(|s| s == "cname-api-key"));
    let grace = humantime::parse_duration(gateway["stop_grace_period"].as_str().expect("grace"))
        .expect("stop_grace_period");
    assert!(
        grace > drain_timeout(&config),
        "stop_grace_period > drain_timeout"
    );
    for p in config.listen.iter().map(|l| socket_port(l)) {
        assert!(
            gateway["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .any(|m| m.as_str().is_some_and(|m| m.ends_with(&format!(":{p}")))),
            "port {p} published"
        );
    }
    // Prometheus shares the gateway's network namespace and scrapes its loopback admin port.
    assert_eq!(services["prometheus"]["network_mode"], "service:gateway");
    let prom = load_yaml(&deploy().join("prometheus/prometheus.yml")).remove(0);
    let targets = &prom["scrape_configs"][0]["static_configs"][0]["targets"];
    assert_eq!(targets[0].as_str(), Some(config.admin.listen.as_str()));
    assert_eq!(prom["scrape_configs"][0]["job_name"], "mtls-gateway");
    for v in services["prometheus"]["volumes"]
        .as_array()
        .expect("volumes")
    {
        let host = v
            .as_str()
            .expect("volume")
            .split(':')
            .next()
            .unwrap_or_default();
        if host.starts_with("./") {
            assert!(deploy().join(host).is_file(), "{host} exists");
        }
    }
}
