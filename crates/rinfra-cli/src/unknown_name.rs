//! What to say about an operation or fact name the registry does not have: a name close in
//! meaning ([`rinfra_python::did_you_mean_name`]), else what there is to choose from.

/// The hint for `name`, unknown among `names` (`module.name`); `kind` is `operation` or
/// `fact`, `example` shows the form.
pub(crate) fn hint(kind: &str, example: &str, name: &str, names: &[&str]) -> String {
    if let Some(best) = rinfra_python::did_you_mean_name(name, names.iter().copied()) {
        return format!("did you mean `{best}`?");
    }
    let Some((module, _)) = name.rsplit_once('.') else {
        return format!("{kind}s are written module.name, e.g. {example}");
    };
    let module_of = |n: &str| n.rsplit_once('.').map_or(n, |(m, _)| m).to_string();
    let in_module: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| module_of(n) == module)
        .collect();
    if !in_module.is_empty() {
        return format!("{kind}s in `{module}`: {}", in_module.join(", "));
    }
    let mut modules: Vec<String> = names.iter().map(|n| module_of(n)).collect();
    modules.sort_unstable();
    modules.dedup();
    format!(
        "`{module}` is not a module of {kind}s; modules: {}",
        modules.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn close_names_else_what_there_is() {
        let names = ["apt.deb", "apt.packages", "server.shell", "yum.packages"];
        let h = |n: &str| hint("operation", "server.shell", n, &names);
        assert_eq!(h("server.shel"), "did you mean `server.shell`?");
        assert_eq!(h("apt.install"), "did you mean `apt.packages`?");
        assert_eq!(h("apt.hex"), "operations in `apt`: apt.deb, apt.packages");
        assert_eq!(
            h("sum.packages"),
            "`sum` is not a module of operations; modules: apt, server, yum"
        );
        // A bare name: the one operation of that name, else the form.
        assert_eq!(h("shell"), "did you mean `server.shell`?");
        assert_eq!(
            h("directory"),
            "operations are written module.name, e.g. server.shell"
        );
    }
}
