//! rinfra's facts and operations, named and shaped as pyinfra's.
//!
//! * facts (`server.Hostname`, `files.File`, `deb.DebPackages`, ...): a command plus a parser
//!   returning pyinfra's JSON shapes, implementing [`rinfra_core::Fact`];
//! * operations (`files.put`, `server.user`, `apt.packages`, ...): arguments plus facts in,
//!   commands or a noop reason out, implementing [`rinfra_core::Operation`].
//!
//! [`register_all`] adds all of them to the engine's registries:
//!
//! ```
//! let mut facts = rinfra_core::FactRegistry::new();
//! let mut ops = rinfra_core::OperationRegistry::new();
//! rinfra_ops::register_all(&mut facts, &mut ops);
//! assert!(facts.get("server.Hostname").is_ok());
//! assert!(ops.get("files.put").is_some());
//! ```
//!
//! pyinfra's own test vectors (`tests/facts`, `tests/operations`) are the contract: see
//! `tests/vectors.rs` and `DIFFERENCES.md` for where rinfra deliberately differs.

mod facts;
mod operations;
mod pinned;
mod python;

pub use facts::{
    format_crontab_item, host_specific_command, kernel_specific_command, ls_permissions_to_mode,
    register_facts, EXISTS_MARKER, MISSING_MARKER,
};
pub use operations::register_operations;
#[doc(hidden)]
pub use pinned::set_test_mode;
pub use python::{python_repr, python_str, repr_str, truthy};

use rinfra_core::{FactRegistry, OperationRegistry};

/// Register every fact and operation of this crate.
pub fn register_all(facts: &mut FactRegistry, ops: &mut OperationRegistry) {
    register_facts(facts);
    register_operations(ops);
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// The Python API shows these as docstrings: none may be empty.
    #[test]
    fn every_operation_parameter_and_fact_is_documented() {
        let (mut facts, mut ops) = (FactRegistry::new(), OperationRegistry::new());
        register_all(&mut facts, &mut ops);
        let names: Vec<&str> = ops.names().collect();
        assert!(names.len() > 60, "{names:?}");
        for name in names {
            let op = ops.get(name).expect("registered");
            assert!(!op.doc().trim().is_empty(), "{name} has no doc");
            assert!(
                !op.doc().starts_with(' ') && !op.doc().contains("\n "),
                "{name}'s doc keeps rustdoc's leading spaces: {:?}",
                op.doc()
            );
            for p in op.params() {
                assert!(!p.doc.trim().is_empty(), "{name}({}) has no doc", p.name);
            }
        }
        for name in facts.names() {
            let fact = facts.get(name).expect("registered");
            assert!(!fact.doc().trim().is_empty(), "fact {name} has no doc");
        }
    }
}
