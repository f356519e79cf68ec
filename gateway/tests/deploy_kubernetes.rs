//! The Kubernetes manifests (`deploy/kubernetes/`) fit together and fit the gateway
//! configuration their ConfigMap carries (ports, probes, mounted files, drain deadline), and that
//! configuration passes `mtls-gateway check`.

mod deploy_support;

use std::collections::BTreeSet;
use std::process::Command;

use deploy_support::check::check_config;
use deploy_support::files::{
    configmap_toml, drain_timeout, file_config, find, load_yaml, pyyaml_available, socket_port,
    yaml_files,
};
use deploy_support::{assert_success, deploy, shout};
use serde_json::Value;

#[test]
fn kubernetes_manifests_fit_together_and_fit_the_gateway() {
    if !pyyaml_available() {
        return;
    }
    let dir = deploy().join("kubernetes");
    let kustomization = load_yaml(&dir.join("kustomization.yaml")).remove(0);
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("resource").to_owned())
        .collect();
    let present: BTreeSet<String> = yaml_files()
        .into_iter()
        .filter(|p| p.parent() == Some(dir.as_path()))
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .filter(|n| n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present, "kustomization.yaml lists every manifest");

    let mut docs = Vec::new();
    for file in &listed {
        for doc in load_yaml(&dir.join(file)) {
            for key in ["apiVersion", "kind"] {
                assert!(
                    doc[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{file}: {key}"
                );
            }
            assert!(
                doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{file}: metadata.name"
            );
            docs.push(doc);
        }
    }

    // The configuration the pods run, and the one extracted by hand for `check` below.
    let cm = find(&docs, "ConfigMap", "mtls-gateway-config");
    let toml_text = cm["data"]["gateway.toml"].as_str().expect("gateway.toml");
    assert_eq!(
        toml_text,
        configmap_toml(),
        "configmap_toml() extracts the same text"
    );
    let config = file_config("configmap.yaml gateway.toml", toml_text);

    let deployment = find(&docs, "Deployment", "mtls-gateway");
    let spec = &deployment["spec"];
    assert!(
        spec["replicas"].as_u64().is_some_and(|r| r >= 2),
        "replicas >= 2"
    );
    let pod = &spec["template"]["spec"];
    let labels = &spec["template"]["metadata"]["labels"];
    for (k, v) in spec["selector"]["matchLabels"]
        .as_object()
        .expect("selector")
    {
        assert_eq!(&labels[k], v, "pod template carries selector label {k}");
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert!(
        sc["capabilities"]["drop"]
            .as_array()
            .is_some_and(|d| d.iter().any(|c| c == "ALL")),
        "drops ALL capabilities"
    );
    assert!(
        c["resources"]["requests"]["cpu"].is_string(),
        "CPU request (for the HPA)"
    );
    assert!(
        c["resources"]["limits"]["memory"].is_string(),
        "memory limit"
    );

    let port = |name: &str| -> u64 {
        c["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("container port {name}"))
    };
    // Probes on the admin listener, which must then listen beyond loopback.
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], "admin", "{probe} port");
    }
    assert!(config.admin.enabled, "the admin listener is enabled");
    let admin = &config.admin.listen;
    assert!(
        admin.starts_with("0.0.0.0:") || admin.starts_with("[::]:"),
        "[admin] listen = {admin:?} must be reachable by the kubelet"
    );
    assert_eq!(u64::from(socket_port(admin)), port("admin"));
    assert_eq!(config.listen.len(), 1);
    assert_eq!(u64::from(socket_port(&config.listen[0])), port("https"));

    // Termination: grace period > preStop sleep + drain deadline.
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pre_stop = &c["lifecycle"]["preStop"];
    let sleep = match pre_stop["exec"]["command"].as_array() {
        Some(cmd)
            if cmd
                .first()
                .is_some_and(|c| c.as_str().is_some_and(|c| c.ends_with("sleep"))) =>
        {
            cmd.get(1)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
                .expect("sleep seconds")
        }
        Some(cmd) => panic!("unexpected preStop command {cmd:?}"),
        None => pre_stop["sleep"]["seconds"].as_u64().unwrap_or(0),
    };
    let drain = drain_timeout(&config).as_secs_f64();
    assert!(
        grace as f64 > sleep as f64 + drain,
        "terminationGracePeriodSeconds {grace} must exceed preStop {sleep}s + drain_timeout {drain}s"
    );

    // The config path and every file the configuration names come from a mounted volume that
    // has that key.
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg"))
        .collect();
    let config_path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1])
        .expect("--config in args");
    let domain = &config.domains[0];
    let mut paths = vec![config_path, domain.cert.as_str(), domain.key.as_str()];
    paths.extend(domain.api_key_file.as_deref());
    paths.extend(domain.mtls.client_ca.iter().map(|ca| ca.file()));
    paths.extend(domain.mtls.crl.iter().map(String::as_str));
    paths.extend(domain.mtls.deny_list.as_deref());
    paths.extend(domain.mtls.registry.as_deref());
    paths.extend(domain.upstream.ca_file.as_deref());
    for path in paths {
        let mount = c["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| {
                m["mountPath"]
                    .as_str()
                    .is_some_and(|mp| path.starts_with(&format!("{}/", mp.trim_end_matches('/'))))
            })
            .unwrap_or_else(|| panic!("{path} is on no volume mount"));
        let key =
            path[mount["mountPath"].as_str().expect("mountPath").len()..].trim_start_matches('/');
        let volume = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("volume of the mount");
        let source = if let Some(name) = volume["configMap"]["name"].as_str() {
            find(&docs, "ConfigMap", name)["data"].clone()
        } else if let Some(name) = volume["secret"]["secretName"].as_str() {
            let s = find(&docs, "Secret", name);
            if s["stringData"].is_object() {
                s["stringData"].clone()
            } else {
                s["data"].clone()
            }
        } else {
            panic!("volume {volume} is neither a ConfigMap nor a Secret");
        };
        assert!(
            source.get(key).is_some(),
            "{path}: the volume {} has no key {key}",
            mount["name"]
        );
    }

    let service = find(&docs, "Service", "mtls-gateway");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(service["spec"]["externalTrafficPolicy"], "Local");
    assert_eq!(service["spec"]["selector"], spec["selector"]["matchLabels"]);
    let ports = service["spec"]["ports"].as_array().expect("service ports");
    assert!(ports
        .iter()
        .all(|p| p["targetPort"] == "https" || p["targetPort"] == port("https")));
    assert!(
        ports
            .iter()
            .all(|p| p["targetPort"] != "admin" && p["targetPort"] != port("admin")),
        "the admin port is not exposed"
    );

    let pdb = find(&docs, "PodDisruptionBudget", "mtls-gateway");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        spec["selector"]["matchLabels"]
    );

    let hpa = find(&docs, "HorizontalPodAutoscaler", "mtls-gateway");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "mtls-gateway");
    assert!(hpa["spec"]["minReplicas"].as_u64().is_some_and(|m| m >= 2));
    assert!(
        hpa["spec"]["metrics"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["resource"]["name"] == "cpu")),
        "scales on CPU"
    );

    // Rendered by kustomize too, where kubectl is installed (optional: no cluster needed).
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let rendered = assert_success(Command::new("kubectl").arg("kustomize").arg(&dir));
        let kinds = rendered.lines().filter(|l| l.starts_with("kind: ")).count();
        assert_eq!(kinds, docs.len(), "kustomize renders every document");
    } else {
        shout("note: kubectl not found; `kubectl kustomize deploy/kubernetes` not run");
    }
}

#[test]
fn configmap_configuration_passes_check() {
    check_config(
        "kubernetes/configmap.yaml gateway.toml",
        &configmap_toml(),
        &[],
    );
}
