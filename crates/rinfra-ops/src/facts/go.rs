//! `go.*` facts.

use serde_json::{json, Map, Value};

use super::define_fact;

define_fact! {
    /// Binaries installed with `go install` (in `GOBIN` or `GOPATH/bin`), by import path:
    /// `{path: [version]}`; `go build` binaries (`(devel)`) are left out.
    GoPackages = "go.GoPackages";
    params: [];
    command: |_| Ok(super::shell::raw(r#"BINDIR=$(go env GOBIN); [ -z "$BINDIR" ] && BINDIR="$(go env GOPATH)/bin"; ! test -d "$BINDIR" || find "$BINDIR" -maxdepth 1 -type f -perm -u+x -exec go version -m {} + 2>/dev/null"#));
    process: |lines, _| {
        let mut packages: Map<String, Value> = Map::new();
        let mut path: Option<&str> = None;
        for line in lines {
            if !line.starts_with('\t') {
                path = None;
                continue;
            }
            let parts: Vec<&str> = line.split('\t').collect();
            match parts.get(1..) {
                Some(["path", p, ..]) => path = Some(p),
                Some(["mod", _, version, ..]) => {
                    if let (Some(p), false) = (path, *version == "(devel)") {
                        let versions = packages.entry(p.to_string()).or_insert_with(|| json!([]));
                        if let Value::Array(v) = versions {
                            if !v.iter().any(|x| x == version) {
                                v.push(json!(version));
                            }
                        }
                    }
                    path = None;
                }
                _ => {}
            }
        }
        Ok(Value::Object(packages))
    };
    default: || json!({});
    requires: |_| Some("go".into());
}
