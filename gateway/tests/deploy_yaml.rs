//! Every YAML file in `deploy/` parses with PyYAML's safe loader.

mod deploy_support;

use deploy_support::files::{load_yaml, pyyaml_available, yaml_files};

#[test]
fn every_yaml_file_parses() {
    if !pyyaml_available() {
        return;
    }
    let files = yaml_files();
    assert!(files.len() >= 10, "{files:?}");
    for f in &files {
        let docs = load_yaml(f);
        assert!(
            docs.iter().any(|d| !d.is_null()),
            "{}: no document",
            f.display()
        );
    }
}
