//! Facts, one module per pyinfra fact module, each fact registered under pyinfra's name;
//! [`util`] holds what several of them share, as pyinfra's `facts/util`.
//!
//! A fact is a command plus a parser of its stdout lines, returning JSON in pyinfra's shape
//! (pyinfra's `tests/facts` vectors are the contract, see `tests/vectors.rs`).

use std::sync::Arc;

use rinfra_connectors::StringCommand;
use rinfra_core::{FactArgs, FactRegistry};
use serde_json::Value;

use crate::python::python_str;

pub(crate) mod util;
pub(crate) use util::{distro, parse, shared, shell};

pub(crate) mod apk;
pub(crate) mod brew;
pub(crate) mod bsdinit;
pub(crate) mod cargo;
pub(crate) mod choco;
pub(crate) mod crontab;
pub(crate) mod deb;
pub(crate) mod dnf;
pub(crate) mod docker;
pub(crate) mod efibootmgr;
pub(crate) mod files;
pub(crate) mod flatpak;
pub(crate) mod freebsd;
pub(crate) mod gem;
pub(crate) mod git;
pub(crate) mod go;
pub(crate) mod gpg;
pub(crate) mod hardware;
pub(crate) mod iptables;
pub(crate) mod launchd;
pub(crate) mod lxd;
pub(crate) mod mysql;
pub(crate) mod npm;
pub(crate) mod openrc;
pub(crate) mod opkg;
pub(crate) mod pacman;
pub(crate) mod pip;
pub(crate) mod pipx;
pub(crate) mod pkg;
pub(crate) mod pkgin;
pub(crate) mod podman;
pub(crate) mod postgres;
pub(crate) mod rpm;
pub(crate) mod runit;
pub(crate) mod selinux;
pub(crate) mod server;
pub(crate) mod snap;
pub(crate) mod systemd;
pub(crate) mod sysvinit;
pub(crate) mod upstart;
pub(crate) mod uv;
pub(crate) mod vzctl;
pub(crate) mod xbps;
pub(crate) mod yum;
pub(crate) mod zfs;
pub(crate) mod zypper;

pub use crontab::format_crontab_item;
pub(crate) mod apt;
pub(crate) use files::block_markers;
pub use files::{ls_permissions_to_mode, EXISTS_MARKER, MISSING_MARKER};
pub(crate) use systemd::systemctl_command;

/// What a fact's command builder returns; the error says which argument is wrong.
pub(crate) type CommandResult = Result<StringCommand, String>;
/// What a fact's parser returns; the error quotes what it could not parse.
pub(crate) type ProcessResult = Result<Value, String>;

/// Define a unit struct implementing [`rinfra_core::Fact`] from plain functions.
macro_rules! define_fact {
    (
        $(#[doc = $doc:literal])*
        $ty:ident = $name:literal;
        params: [$($param:literal),* $(,)?];
        command: $command:expr;
        process: $process:expr;
        $(default: $default:expr;)?
        $(requires: $requires:expr;)?
        $(shared: $shared:expr;)?
        $(guesses: $guesses:expr;)?
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Default, Clone, Copy)]
        pub(crate) struct $ty;

        impl rinfra_core::Fact for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn doc(&self) -> &'static str {
                static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                DOC.get_or_init(|| $crate::python::doc_text(&[$($doc),*]))
            }

            fn params(&self) -> &'static [&'static str] {
                &[$($param),*]
            }

            fn command(
                &self,
                args: &rinfra_core::FactArgs,
            ) -> Result<rinfra_connectors::StringCommand, rinfra_core::FactError> {
                let f: fn(&rinfra_core::FactArgs) -> $crate::facts::CommandResult = $command;
                f(args).map_err(|reason| rinfra_core::FactError::InvalidArguments {
                    fact: $name.into(),
                    reason,
                })
            }

            fn process(
                &self,
                stdout: &[String],
                args: &rinfra_core::FactArgs,
            ) -> Result<serde_json::Value, rinfra_core::FactError> {
                let f: fn(&[String], &rinfra_core::FactArgs) -> $crate::facts::ProcessResult =
                    $process;
                f(stdout, args).map_err(|reason| rinfra_core::FactError::Process {
                    fact: $name.into(),
                    reason,
                })
            }

            $(
            fn default(&self) -> serde_json::Value {
                let f: fn() -> serde_json::Value = $default;
                f()
            }
            )?

            $(
            fn requires_command(&self, args: &rinfra_core::FactArgs) -> Option<String> {
                let f: fn(&rinfra_core::FactArgs) -> Option<String> = $requires;
                f(args)
            }
            )?

            $(
            fn shared_load(&self) -> Option<&'static dyn rinfra_core::SharedLoad> {
                Some($shared)
            }
            )?

            $(
            fn guesses(&self, _args: &rinfra_core::FactArgs) -> Vec<serde_json::Value> {
                let f: fn() -> Vec<serde_json::Value> = $guesses;
                f()
            }
            )?
        }
    };
}
pub(crate) use define_fact;

/// Register every fact of this crate.
pub fn register_facts(registry: &mut FactRegistry) {
    let facts: Vec<Arc<dyn rinfra_core::Fact>> = vec![
        Arc::new(server::Kernel),
        Arc::new(server::Os),
        Arc::new(server::KernelVersion),
        Arc::new(server::LinuxName),
        Arc::new(server::LinuxDistribution),
        Arc::new(server::OsRelease),
        Arc::new(server::Arch),
        Arc::new(server::Hostname),
        Arc::new(server::Which),
        Arc::new(server::Command),
        Arc::new(server::Home),
        Arc::new(server::User),
        Arc::new(server::Users),
        Arc::new(server::Groups),
        Arc::new(server::Date),
        Arc::new(server::TmpDir),
        Arc::new(server::Mounts),
        Arc::new(server::Sysctl),
        Arc::new(server::KernelModules),
        Arc::new(server::Locales),
        Arc::new(server::Timezone),
        Arc::new(server::Uptime),
        Arc::new(server::AuthorizedKeys),
        Arc::new(server::Path),
        Arc::new(server::OsVersion),
        Arc::new(server::MacosVersion),
        Arc::new(server::LsbRelease),
        Arc::new(server::Selinux),
        Arc::new(server::LinuxGui),
        Arc::new(server::HasGui),
        Arc::new(server::SecurityLimits),
        Arc::new(server::RebootRequired),
        Arc::new(server::EtcHosts),
        Arc::new(server::Last),
        Arc::new(server::Lastb),
        Arc::new(server::LoadAverage),
        Arc::new(server::Processes),
        Arc::new(server::Port),
        Arc::new(server::Ports),
        Arc::new(files::File),
        Arc::new(files::Directory),
        Arc::new(files::Link),
        Arc::new(files::Socket),
        Arc::new(files::Flags),
        Arc::new(files::FileContents),
        Arc::new(files::FindInFile),
        Arc::new(files::FindFiles),
        Arc::new(files::FindLinks),
        Arc::new(files::FindDirectories),
        Arc::new(files::Sha1File),
        Arc::new(files::Sha256File),
        Arc::new(files::Sha384File),
        Arc::new(files::Md5File),
        Arc::new(files::Block),
        Arc::new(deb::DebPackages),
        Arc::new(deb::DebArch),
        Arc::new(deb::DebPackage),
        Arc::new(apt::SimulateOperationWillChange),
        Arc::new(gpg::GpgKeyrings),
        Arc::new(gpg::GpgKeys),
        Arc::new(gpg::GpgKey),
        Arc::new(gpg::GpgSecretKeys),
        Arc::new(apt::AptPackages),
        Arc::new(apt::AptKeys),
        Arc::new(apt::AptSources),
        Arc::new(rpm::RpmPackages),
        Arc::new(rpm::RpmPackageProvides),
        Arc::new(rpm::RpmPackage),
        Arc::new(dnf::DnfRepositories),
        Arc::new(dnf::DnfEnabledModules),
        Arc::new(dnf::DnfDisabledModules),
        Arc::new(yum::YumRepositories),
        Arc::new(zypper::ZypperRepositories),
        Arc::new(xbps::XbpsPackages),
        Arc::new(pkg::PkgPackages),
        Arc::new(docker::DockerSystemInfo),
        Arc::new(docker::DockerVersion),
        Arc::new(docker::DockerContainers),
        Arc::new(docker::DockerImages),
        Arc::new(docker::DockerNetworks),
        Arc::new(docker::DockerVolumes),
        Arc::new(docker::DockerPlugins),
        Arc::new(docker::DockerContainer),
        Arc::new(docker::DockerImage),
        Arc::new(docker::DockerNetwork),
        Arc::new(docker::DockerVolume),
        Arc::new(docker::DockerPlugin),
        Arc::new(docker::DockerContainerEnvs),
        Arc::new(docker::DockerContainerLabels),
        Arc::new(docker::DockerContainerMounts),
        Arc::new(docker::DockerContainerNetworks),
        Arc::new(docker::DockerContainerPorts),
        Arc::new(docker::DockerImageLabels),
        Arc::new(docker::DockerImageLayers),
        Arc::new(docker::DockerNetworkLabels),
        Arc::new(docker::DockerVolumeLabels),
        Arc::new(docker::DockerContainerFsChanges),
        Arc::new(docker::DockerContainerProcesses),
        Arc::new(docker::DockerContainerStats),
        Arc::new(docker::DockerImageHistory),
        Arc::new(docker::DockerAuths),
        Arc::new(podman::PodmanSystemInfo),
        Arc::new(podman::PodmanPs),
        Arc::new(uv::UvPipPackages),
        Arc::new(uv::UvAvailablePythonsByImplementation),
        Arc::new(uv::UvAvailablePythonsByVersion),
        Arc::new(uv::UvInstalledPythonsByImplementation),
        Arc::new(uv::UvInstalledPythonsByVersion),
        Arc::new(uv::UvPythonDir),
        Arc::new(uv::UvToolDir),
        Arc::new(uv::UvTools),
        Arc::new(uv::UvVersion),
        Arc::new(mysql::MysqlDatabases),
        Arc::new(mysql::MysqlUsers),
        Arc::new(mysql::MysqlUserGrants),
        Arc::new(postgres::PostgresRoles),
        Arc::new(postgres::PostgresDatabases),
        Arc::new(postgres::PostgresqlRoles),
        Arc::new(postgres::PostgresqlDatabases),
        Arc::new(freebsd::PkgPackage),
        Arc::new(freebsd::ServiceScript),
        Arc::new(freebsd::ServiceStatus),
        Arc::new(freebsd::Sysrc),
        Arc::new(lxd::LxdContainers),
        Arc::new(vzctl::OpenvzContainers),
        Arc::new(zfs::ZfsPools),
        Arc::new(zfs::Pools),
        Arc::new(zfs::ZfsDatasets),
        Arc::new(zfs::Datasets),
        Arc::new(zfs::ZfsFilesystems),
        Arc::new(zfs::Filesystems),
        Arc::new(zfs::ZfsSnapshots),
        Arc::new(zfs::Snapshots),
        Arc::new(zfs::ZfsVolumes),
        Arc::new(zfs::Volumes),
        Arc::new(iptables::IptablesRules),
        Arc::new(iptables::Ip6tablesRules),
        Arc::new(iptables::IptablesChains),
        Arc::new(iptables::Ip6tablesChains),
        Arc::new(pipx::PipxPackages),
        Arc::new(pipx::PipxEnvironment),
        Arc::new(opkg::OpkgConf),
        Arc::new(opkg::OpkgFeeds),
        Arc::new(opkg::OpkgInstallableArchitectures),
        Arc::new(opkg::OpkgPackages),
        Arc::new(opkg::OpkgUpgradeablePackages),
        Arc::new(launchd::LaunchdStatus),
        Arc::new(choco::ChocoPackages),
        Arc::new(choco::ChocoVersion),
        Arc::new(selinux::SEBoolean),
        Arc::new(selinux::FileContext),
        Arc::new(selinux::FileContextMapping),
        Arc::new(selinux::SEPorts),
        Arc::new(selinux::SEPort),
        Arc::new(snap::SnapPackage),
        Arc::new(snap::SnapPackages),
        Arc::new(flatpak::FlatpakPackage),
        Arc::new(flatpak::FlatpakPackages),
        Arc::new(gem::GemPackages),
        Arc::new(cargo::CargoPackages),
        Arc::new(pkgin::PkginPackages),
        Arc::new(npm::NpmPackages),
        Arc::new(go::GoPackages),
        Arc::new(brew::BrewVersion),
        Arc::new(brew::BrewPackages),
        Arc::new(brew::BrewCasks),
        Arc::new(brew::BrewTaps),
        Arc::new(brew::BrewTrusted),
        Arc::new(pacman::PacmanUnpackGroup),
        Arc::new(apk::ApkPackages),
        Arc::new(pacman::PacmanPackages),
        Arc::new(pip::PipPackages),
        Arc::new(pip::Pip3Packages),
        Arc::new(systemd::SystemdStatus),
        Arc::new(systemd::SystemdEnabled),
        Arc::new(sysvinit::InitdStatus),
        Arc::new(bsdinit::RcdStatus),
        Arc::new(openrc::OpenrcStatus),
        Arc::new(openrc::OpenrcEnabled),
        Arc::new(upstart::UpstartStatus),
        Arc::new(crontab::Crontab),
        Arc::new(git::GitBranch),
        Arc::new(git::GitConfig),
        Arc::new(git::GitTag),
        Arc::new(git::GitLocalCommit),
        Arc::new(git::GitRemoteBranchCommit),
        Arc::new(git::GitTrackingBranch),
        Arc::new(hardware::Memory),
        Arc::new(hardware::Cpus),
        Arc::new(hardware::NetworkDevices),
        Arc::new(hardware::Ipv4Addrs),
        Arc::new(hardware::Ipv6Addrs),
        Arc::new(hardware::Ipv4Addresses),
        Arc::new(hardware::Ipv6Addresses),
        Arc::new(hardware::CpuInfo),
        Arc::new(hardware::BlockDevices),
        Arc::new(efibootmgr::EFIBootMgr),
        Arc::new(runit::RunitStatus),
        Arc::new(runit::RunitManaged),
    ];
    for fact in facts {
        registry.register(fact);
    }
}

/// pyinfra's command for a fact whose command depends on the host's kernel (`server.Mounts`,
/// `server.KernelModules`). rinfra's own command asks `uname -s` in the same shell instead of
/// loading `server.Kernel` first; this gives pyinfra's per-kernel text, for the vector tests.
pub fn kernel_specific_command(fact: &str, kernel: &str) -> Option<StringCommand> {
    match fact {
        "server.Mounts" => Some(server::mounts_command_for(kernel)),
        "server.KernelModules" => Some(server::kernel_modules_command_for(kernel)),
        "server.Uptime" => Some(match kernel.trim() {
            "Darwin" | "FreeBSD" => {
                shell::raw("date +%s; sysctl -n kern.boottime | awk '{print $4}' | tr -d ','")
            }
            _ => shell::raw("cut -d. -f1 /proc/uptime"),
        }),
        _ => None,
    }
}

/// pyinfra's command for a fact whose command depends on other facts of the host (the kernel,
/// whether `ss` or BusyBox is installed), given those facts as pyinfra's vectors list them
/// (`{"server.Kernel": "Linux", "server.Which": {"command=ss": "/usr/sbin/ss"}}`). rinfra's
/// own commands decide in the shell; this gives pyinfra's text, for the vector tests.
pub fn host_specific_command(fact: &str, args: &FactArgs, facts: &Value) -> Option<StringCommand> {
    let kernel = facts.get("server.Kernel").and_then(Value::as_str)?;
    let which = |cmd: &str| {
        facts
            .pointer("/server.Which")
            .and_then(|w| w.get(format!("command={cmd}")))
            .is_some_and(crate::python::truthy)
    };
    let freebsd = kernel.trim() == "FreeBSD";
    let sockets_tool = if freebsd {
        "sockstat"
    } else if which("ss") {
        "ss"
    } else {
        "netstat"
    };
    match fact {
        "server.Processes" => Some(server::processes_command_for(
            kernel,
            which("busybox"),
            arg_opt(args, "pid").as_deref(),
        )),
        "server.Port" => Some(server::port_command_for(
            sockets_tool,
            &arg_opt(args, "port")?,
            &arg_opt(args, "protocol").unwrap_or_else(|| "tcp".into()),
        )),
        "server.Ports" => Some(server::ports_command_for(sockets_tool)),
        _ => kernel_specific_command(fact, kernel),
    }
}

/// A required argument, as Python's `str()` of its value.
pub(crate) fn arg_str(args: &FactArgs, name: &str) -> Result<String, String> {
    match args.get(name) {
        None | Some(Value::Null) => Err(format!("missing argument `{name}`")),
        Some(v) => Ok(python_str(v)),
    }
}

/// An optional argument (absent or `None` gives `None`).
pub(crate) fn arg_opt(args: &FactArgs, name: &str) -> Option<String> {
    match args.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => Some(python_str(v)),
    }
}

/// A boolean argument by Python truthiness, `false` when absent.
pub(crate) fn arg_bool(args: &FactArgs, name: &str) -> bool {
    args.get(name).is_some_and(crate::python::truthy)
}

/// The process result for "no parse": pyinfra returns the lines joined by newlines.
pub(crate) fn joined(lines: &[String]) -> Value {
    Value::String(lines.join("\n"))
}
