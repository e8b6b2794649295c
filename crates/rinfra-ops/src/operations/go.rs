//! `go.*` operations: binaries installed with `go install`.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::Value;

use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

/// The binary `go install <path>` writes: the last path element, or the one before a
/// major-version suffix (`github.com/foo/bar/v2` → `bar`).
fn binary_name(path: &str) -> &str {
    let parts: Vec<&str> = path.split('/').collect();
    let last = parts.last().copied().unwrap_or_default();
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    if parts.len() >= 2 && is_major {
        parts[parts.len() - 2]
    } else {
        last
    }
}

define_op! {
    /// Install, remove or upgrade Go binaries with `go install` (`path@version` pins a
    /// version; unpinned or `@latest` installs the latest).
    ///
    /// Deploy example: `go.packages(packages=["honnef.co/go/tools/cmd/staticcheck"])`
    Packages = "go.packages";
    params: [optional "packages" = "import path(s); `path@version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "reinstall unpinned packages at the latest version (always runs)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let wanted = a.list("packages")?;
    if wanted.is_empty() {
        out.noop("no packages to ensure");
        return Ok(());
    }
    let present = a.bool_or("present", true);
    let latest = a.bool_or("latest", false);
    let current = fact(host, &crate::facts::go::GoPackages, &[]).await?;
    let (mut install, mut upgrade, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    for pkg in &wanted {
        let (name, version) = pkg.split_once('@').unwrap_or((pkg, ""));
        if name.is_empty() || name.starts_with('-') {
            return Err(a.invalid("packages", format!("not an import path: {pkg:?}")));
        }
        let unversioned = version.is_empty() || version == "latest";
        let mut installed: Vec<String> = current
            .get(name)
            .and_then(Value::as_array)
            .map(|v| v.iter().map(python_str).collect())
            .unwrap_or_default();
        installed.sort();
        if !present {
            if installed.is_empty() {
                out.noop(format!("package {name} is not installed"));
            } else {
                remove.push(name.to_string());
            }
        } else if unversioned {
            if installed.is_empty() {
                install.push(format!("{name}@latest"));
            } else if latest {
                upgrade.push(format!("{name}@latest"));
            } else {
                out.noop(format!(
                    "package {name} is installed ({})",
                    installed.join(",")
                ));
            }
        } else if !installed.iter().any(|v| v == version) {
            install.push(format!("{name}@{version}"));
        } else {
            out.noop(format!("package {name}@{version} is installed"));
        }
    }
    for list in [install, upgrade] {
        if !list.is_empty() {
            let mut bits = vec![Bit::from("go install")];
            bits.extend(list.iter().map(q));
            out.shell(StringCommand::new(bits));
        }
    }
    if !remove.is_empty() {
        let mut bits = vec![Bit::from(
            r#"BINDIR=$(go env GOBIN); [ -z "$BINDIR" ] && BINDIR="$(go env GOPATH)/bin"; rm -f"#,
        )];
        for name in &remove {
            bits.push(
                StringCommand::with_separator(
                    [Bit::from("\"$BINDIR\"/"), q(binary_name(name))],
                    "",
                )
                .into(),
            );
        }
        out.shell(StringCommand::new(bits));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn binary_names() {
        assert_eq!(super::binary_name("github.com/foo/bar/v2"), "bar");
        assert_eq!(
            super::binary_name("honnef.co/go/tools/cmd/staticcheck"),
            "staticcheck"
        );
        assert_eq!(super::binary_name("example.com/v"), "v");
    }
}
