//! Operations, one module per pyinfra operation module (`files.put` is in [`files`], a
//! directory where one file would be too long), each registered under pyinfra's name with
//! pyinfra's parameters in pyinfra's positional order. [`util`] holds what several modules
//! share, as pyinfra's `operations/util`.

use std::sync::Arc;

use rinfra_core::{Operation, OperationRegistry};

mod args;
mod out;

mod apk;
mod apt;
mod brew;
mod bsdinit;
mod cargo;
mod choco;
mod crontab;
mod dnf;
mod docker;
mod files;
mod flatpak;
mod freebsd;
mod gem;
mod git;
mod go;
mod gpg;
mod iptables;
mod launchd;
mod lxd;
mod mysql;
mod npm;
mod openrc;
mod opkg;
mod pacman;
mod pip;
mod pipx;
mod pkg;
mod pkgin;
mod postgres;
mod puppet;
mod python;
mod runit;
mod selinux;
mod server;
mod snap;
mod ssh;
mod systemd;
mod sysvinit;
mod upstart;
mod util;
mod uv;
mod vzctl;
mod xbps;
mod yum;
mod zfs;
mod zypper;

pub(crate) use args::Args;
pub(crate) use out::{fact, Out};

/// Define a unit struct implementing [`rinfra_core::Operation`] around an async function
/// `async fn(&Args<'_>, &dyn OpHost) -> Result<Out, OperationError>`.
///
/// The doc comment becomes [`rinfra_core::Operation::doc`]; a parameter is documented as
/// `optional "name" = "what it means"`.
macro_rules! define_op {
    (
        $(#[doc = $doc:literal])*
        $ty:ident = $name:literal;
        params: [$($kind:ident $param:literal $(= $pdoc:literal)?),* $(,)?];
        $(idempotent: $idem:expr;)?
        $(extra_kwargs: $extra:expr;)?
        $(touches: $touches:literal;)?
        $(touches_below: $below:path;)?
        generate: $gen:path;
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Default, Clone, Copy)]
        pub(crate) struct $ty;

        #[async_trait::async_trait]
        impl rinfra_core::Operation for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn params(&self) -> &'static [rinfra_core::Param] {
                const PARAMS: &[rinfra_core::Param] =
                    &[$(rinfra_core::Param::$kind($param)$(.with_doc($pdoc))?),*];
                PARAMS
            }

            fn doc(&self) -> &'static str {
                static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                DOC.get_or_init(|| $crate::python::doc_text(&[$($doc),*]))
            }

            $(
            fn is_idempotent(&self) -> bool {
                $idem
            }
            )?

            $(
            fn accepts_extra_kwargs(&self) -> bool {
                $extra
            }
            )?

            $(
            fn touched_paths(&self, args: &rinfra_core::OpArgs) -> Option<Vec<String>> {
                args.get($touches).and_then(|v| v.as_str()).map(|p| vec![p.to_string()])
            }
            )?

            $(
            fn changes_below_touched_paths(&self, args: &rinfra_core::OpArgs) -> bool {
                $below(&$crate::operations::Args::new($name, args))
            }
            )?

            async fn generate(
                &self,
                args: &rinfra_core::OpArgs,
                host: &dyn rinfra_core::OpHost,
            ) -> Result<rinfra_core::OpOutcome, rinfra_core::OperationError> {
                let a = $crate::operations::Args::new($name, args);
                let mut out = $crate::operations::Out::default();
                $gen(&a, host, &mut out).await?;
                Ok(out.finish())
            }
        }
    };
}
pub(crate) use define_op;

/// Run another operation's body into the same output (pyinfra's `yield from op._inner(...)`):
/// `call!(files::directory, "files.directory", &[("path", json!(p))], host, out).await`.
macro_rules! call {
    ($f:expr, $name:literal, $pairs:expr, $host:expr, $out:expr $(,)?) => {
        $f(
            &$crate::operations::Args::new($name, &$crate::operations::op_args($pairs)),
            $host,
            $out,
        )
    };
}
pub(crate) use call;

/// Arguments for [`call!`] from `(name, value)` pairs.
pub(crate) fn op_args(pairs: &[(&str, serde_json::Value)]) -> rinfra_core::OpArgs {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Register every operation of this crate.
pub fn register_operations(registry: &mut OperationRegistry) {
    let ops: Vec<Arc<dyn Operation>> = vec![
        Arc::new(files::File),
        Arc::new(files::Directory),
        Arc::new(files::Link),
        Arc::new(files::remote::Copy),
        Arc::new(files::remote::Move),
        Arc::new(files::remote::Flags),
        Arc::new(files::remote::Unarchive),
        Arc::new(files::rsync::Rsync),
        Arc::new(files::text::Line),
        Arc::new(files::text::Replace),
        Arc::new(files::text::Block),
        Arc::new(files::put::Put),
        Arc::new(files::put::Get),
        Arc::new(files::put::Download),
        Arc::new(files::put::Sync),
        Arc::new(files::template::Template),
        Arc::new(server::Shell),
        Arc::new(server::Script),
        Arc::new(server::ScriptTemplate),
        Arc::new(server::Reboot),
        Arc::new(server::Wait),
        Arc::new(server::Hostname),
        Arc::new(server::Sysctl),
        Arc::new(server::Mount),
        Arc::new(server::Modprobe),
        Arc::new(server::Locale),
        Arc::new(server::Timezone),
        Arc::new(server::Kill),
        Arc::new(server::SecurityLimit),
        Arc::new(server::EtcHosts),
        Arc::new(server::users::User),
        Arc::new(server::users::Group),
        Arc::new(server::users::UserAuthorizedKeys),
        Arc::new(server::services::Service),
        Arc::new(server::services::Packages),
        Arc::new(apt::Packages),
        Arc::new(apt::Update),
        Arc::new(apt::Upgrade),
        Arc::new(apt::Repo),
        Arc::new(apt::Key),
        Arc::new(apt::Deb),
        Arc::new(apt::DistUpgrade),
        Arc::new(apt::Ppa),
        Arc::new(apt::SourcesFile),
        Arc::new(gpg::Key),
        Arc::new(gpg::Dearmor),
        Arc::new(dnf::Packages),
        Arc::new(dnf::Key),
        Arc::new(dnf::Repo),
        Arc::new(dnf::Rpm),
        Arc::new(dnf::Update),
        Arc::new(dnf::Module),
        Arc::new(yum::Packages),
        Arc::new(yum::Key),
        Arc::new(yum::Repo),
        Arc::new(yum::Rpm),
        Arc::new(yum::Update),
        Arc::new(zypper::Key),
        Arc::new(zypper::Repo),
        Arc::new(zypper::Rpm),
        Arc::new(zypper::Update),
        Arc::new(zypper::Packages),
        Arc::new(xbps::Upgrade),
        Arc::new(xbps::Update),
        Arc::new(xbps::Packages),
        Arc::new(pkg::Packages),
        Arc::new(docker::Container),
        Arc::new(docker::Image),
        Arc::new(docker::Build),
        Arc::new(docker::Volume),
        Arc::new(docker::Network),
        Arc::new(docker::Prune),
        Arc::new(docker::Plugin),
        Arc::new(docker::Login),
        Arc::new(docker::Logout),
        Arc::new(docker::Compose),
        Arc::new(docker::ContainerExec),
        Arc::new(uv::Packages),
        Arc::new(uv::Pythons),
        Arc::new(uv::Tools),
        Arc::new(uv::ToolsUpgradeAll),
        Arc::new(uv::ToolsUpdateShell),
        Arc::new(uv::Venv),
        Arc::new(mysql::Sql),
        Arc::new(mysql::User),
        Arc::new(mysql::Database),
        Arc::new(mysql::Privileges),
        Arc::new(mysql::Dump),
        Arc::new(mysql::Load),
        Arc::new(postgres::Sql),
        Arc::new(postgres::Role),
        Arc::new(postgres::Database),
        Arc::new(postgres::Dump),
        Arc::new(postgres::Load),
        Arc::new(postgres::OldSql),
        Arc::new(postgres::OldRole),
        Arc::new(postgres::OldDatabase),
        Arc::new(postgres::OldDump),
        Arc::new(postgres::OldLoad),
        Arc::new(freebsd::pkg::Update),
        Arc::new(freebsd::pkg::Upgrade),
        Arc::new(freebsd::pkg::Install),
        Arc::new(freebsd::pkg::Remove),
        Arc::new(freebsd::pkg::Autoremove),
        Arc::new(freebsd::pkg::Clean),
        Arc::new(freebsd::service::Service),
        Arc::new(freebsd::sysrc::Sysrc),
        Arc::new(freebsd::freebsd_update::Update),
        Arc::new(lxd::Container),
        Arc::new(vzctl::Start),
        Arc::new(vzctl::Stop),
        Arc::new(vzctl::Restart),
        Arc::new(vzctl::Mount),
        Arc::new(vzctl::Unmount),
        Arc::new(vzctl::Delete),
        Arc::new(vzctl::Create),
        Arc::new(vzctl::Set),
        Arc::new(zfs::Dataset),
        Arc::new(zfs::Snapshot),
        Arc::new(zfs::Volume),
        Arc::new(zfs::Filesystem),
        Arc::new(iptables::Chain),
        Arc::new(iptables::Rule),
        Arc::new(pipx::Packages),
        Arc::new(pipx::UpgradeAll),
        Arc::new(pipx::EnsurePath),
        Arc::new(opkg::Update),
        Arc::new(opkg::Packages),
        Arc::new(launchd::Service),
        Arc::new(puppet::Agent),
        Arc::new(choco::Packages),
        Arc::new(choco::Install),
        Arc::new(selinux::Boolean),
        Arc::new(selinux::FileContext),
        Arc::new(selinux::FileContextMapping),
        Arc::new(selinux::Port),
        Arc::new(snap::Package),
        Arc::new(flatpak::Packages),
        Arc::new(gem::Packages),
        Arc::new(cargo::Packages),
        Arc::new(pkgin::Upgrade),
        Arc::new(pkgin::Update),
        Arc::new(pkgin::Packages),
        Arc::new(npm::Packages),
        Arc::new(go::Packages),
        Arc::new(brew::Update),
        Arc::new(brew::Upgrade),
        Arc::new(brew::Packages),
        Arc::new(brew::CaskUpgrade),
        Arc::new(brew::Casks),
        Arc::new(brew::Tap),
        Arc::new(brew::Trust),
        Arc::new(apk::Packages),
        Arc::new(apk::Upgrade),
        Arc::new(apk::Update),
        Arc::new(python::RaiseException),
        Arc::new(pacman::Upgrade),
        Arc::new(pacman::Update),
        Arc::new(sysvinit::Enable),
        Arc::new(pacman::Packages),
        Arc::new(pip::Packages),
        Arc::new(pip::Venv),
        Arc::new(pip::Virtualenv),
        Arc::new(systemd::Service),
        Arc::new(systemd::DaemonReload),
        Arc::new(sysvinit::Service),
        Arc::new(openrc::Service),
        Arc::new(upstart::Service),
        Arc::new(bsdinit::Service),
        Arc::new(runit::Service),
        Arc::new(runit::Manage),
        Arc::new(runit::WaitRunsv),
        Arc::new(runit::Auto),
        Arc::new(git::Repo),
        Arc::new(git::Config),
        Arc::new(git::BareRepo),
        Arc::new(git::Worktree),
        Arc::new(ssh::Keyscan),
        Arc::new(ssh::Command),
        Arc::new(ssh::Upload),
        Arc::new(ssh::Download),
        Arc::new(crontab::Crontab),
    ];
    for op in ops {
        registry.register(op);
    }
}

/// A shell-quoted bit from any string (pyinfra's `QuoteString`).
pub(crate) fn q(s: impl AsRef<str>) -> rinfra_connectors::Bit {
    rinfra_connectors::quoted(s.as_ref())
}
