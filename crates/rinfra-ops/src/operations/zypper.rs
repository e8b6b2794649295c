//! `zypper.*` operations: SUSE packages, repositories and `.rpm` files.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, q, Args, Out};

const UPDATE: &str = "zypper --non-interactive --gpg-auto-import-keys update -y";

define_op! {
    /// Import a gpg key into rpm's keyring (`rpm --import`; not idempotent), as `yum.key`.
    ///
    /// Deploy example: `zypper.key(src="https://example.com/repo.key")`
    Key = "zypper.key";
    params: [required "src" = "the key's file name on the host or URL"];
    idempotent: false;
    generate: key;
}

async fn key(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new([
        Bit::from("rpm --import"),
        q(a.str("src")?),
    ]));
    Ok(())
}

define_op! {
    /// Add, update or remove a repository file in `/etc/zypp/repos.d/`: downloaded when `src`
    /// is a URL, else written from `baseurl` and the other arguments.
    ///
    /// Deploy example: `zypper.repo(src="containers", baseurl="https://download.opensuse.org/repositories/Virtualization:/containers/openSUSE_Tumbleweed/")`
    Repo = "zypper.repo";
    params: [required "src" = "the repository's name, or the URL of a `.repo` file",
             optional "baseurl" = "the repository's base URL (when `src` is a name)",
             optional "present" = "whether the repository file should exist (default True)",
             optional "description" = "its `name=` (default: the repository name)",
             optional "enabled" = "whether it is enabled (default True)",
             optional "gpgcheck" = "whether packages' signatures are checked (default True)",
             optional "gpgkey" = "URL(s) or absolute path(s) of the signing key, space separated",
             optional "type" = "the repository's `type=` (default `rpm-md`)"];
    generate: repo;
}

async fn repo(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let repo_type = a.nonempty("type").unwrap_or_else(|| "rpm-md".into());
    if repo_type.contains(['\n', '\r']) {
        return Err(a.invalid("type", "must be one line"));
    }
    super::util::packaging::ensure_yum_repo(a, host, out, "/etc/zypp/repos.d/", Some(&repo_type))
        .await
}

define_op! {
    /// Install or remove an `.rpm` file (a path on the host, or a URL downloaded first).
    ///
    /// Deploy example: `zypper.rpm(src="https://github.com/go-task/task/releases/download/v2.8.1/task_linux_amd64.rpm")`
    Rpm = "zypper.rpm";
    params: [required "src" = "the `.rpm` file's path on the host or URL",
             optional "present" = "whether the package should be installed (default True)"];
    generate: rpm;
}

async fn rpm(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    super::util::packaging::ensure_rpm(a, host, out, "zypper --non-interactive").await
}

define_op! {
    /// Upgrade all installed packages (not idempotent).
    ///
    /// Deploy example: `zypper.update()`
    Update = "zypper.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(UPDATE);
    Ok(())
}

define_op! {
    /// Install, remove or upgrade packages with zypper (`name=version` pins a version).
    ///
    /// Deploy example: `zypper.packages(packages=["vim"], update=True)`
    Packages = "zypper.packages";
    params: [optional "packages" = "package name(s); `name=version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "update" = "upgrade all packages first (`zypper update`)",
             optional "clean" = "clean the caches first (`zypper clean --all`)",
             optional "extra_global_install_args" = "zypper options before `install`",
             optional "extra_install_args" = "extra arguments for `install`",
             optional "extra_global_uninstall_args" = "zypper options before `remove`",
             optional "extra_uninstall_args" = "extra arguments for `remove`"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("clean", false) {
        out.shell("zypper clean --all");
    }
    if a.bool_or("update", false) {
        out.shell(UPDATE);
    }
    let command = |global: &str, tail: &[&str], extra: &str| {
        let mut words = vec!["zypper".to_string()];
        words.extend(a.nonempty(global));
        words.extend(tail.iter().map(|w| w.to_string()));
        words.extend(a.nonempty(extra));
        words.join(" ")
    };
    let install = command(
        "extra_global_install_args",
        &[
            "--non-interactive",
            "--gpg-auto-import-keys",
            "install",
            "-y",
        ],
        "extra_install_args",
    );
    let uninstall = command(
        "extra_global_uninstall_args",
        &["--non-interactive", "remove", "-y"],
        "extra_uninstall_args",
    );
    let current = fact(host, &crate::facts::rpm::RpmPackages, &[]).await?;
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(UPDATE),
        version_join: Some("="),
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &a.list("packages")?,
        &current,
        a.bool_or("present", true),
        a.bool_or("latest", false),
        &m,
    )
    .await
}
