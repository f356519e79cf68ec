//! Live reload on file changes: every file the configuration read (the configuration itself,
//! certificates, keys, CAs, CRLs, registry, deny list) is watched, and a burst of changes is
//! debounced into one reload. Directories are watched rather than files, so the usual
//! write-to-temp-then-rename rotation is seen.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::reload::Reloader;

/// What a watcher compares event paths with: canonical parent directory and file name.
fn targets(files: &[PathBuf]) -> HashSet<(PathBuf, OsString)> {
    files
        .iter()
        .filter_map(|f| {
            let parent = f
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Some((parent.canonicalize().ok()?, f.file_name()?.to_owned()))
        })
        .collect()
}

fn relevant(event: &notify::Event, targets: &HashSet<(PathBuf, OsString)>) -> bool {
    use notify::EventKind;
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|p| {
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            return false;
        };
        // Kubernetes updates a mounted ConfigMap or Secret by swapping a `..data` symlink (and
        // `..<timestamp>` directories) next to the files: the files' own paths see no event.
        if name.as_encoded_bytes().starts_with(b"..") {
            return true;
        }
        let parent = parent.canonicalize().unwrap_or_else(|_| parent.to_owned());
        targets.contains(&(parent, name.to_owned()))
    })
}

pub async fn run(
    reloader: Reloader,
    config_path: PathBuf,
    debounce: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let _ = tx.send(res);
        }) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "cannot watch files; reload with SIGHUP");
                return;
            }
        };
    let mut watched_dirs: HashSet<PathBuf> = HashSet::new();
    loop {
        // (Re)aim the watcher at the directories of the files the current configuration uses.
        let files = reloader.state.load().config.files.clone();
        let wanted = targets(&files);
        let dirs: HashSet<PathBuf> = wanted.iter().map(|(d, _)| d.clone()).collect();
        for d in dirs.difference(&watched_dirs) {
            if let Err(e) = watcher.watch(d, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %d.display(), error = %e, "cannot watch directory");
            }
        }
        for d in watched_dirs.difference(&dirs) {
            let _ = watcher.unwatch(d);
        }
        watched_dirs = dirs;

        // Wait for a relevant change.
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(Ok(ev)) if relevant(&ev, &wanted) => break,
                    Some(_) => continue,
                    None => return,
                },
                _ = stop.changed() => return,
            }
        }
        // Debounce: wait until the files have been quiet for `debounce`.
        while let Ok(Some(_)) = tokio::time::timeout(debounce, rx.recv()).await {}
        tracing::info!("watched file changed; reloading");
        reloader.reload_from(&config_path);
    }
}
