//! `zypper.*` facts.

use serde_json::json;

use super::define_fact;
use super::yum::{cat_files_with_markers, parse_repositories};

define_fact! {
    /// The zypper repositories in `/etc/zypp/repos.d/*.repo`: a list of `{repoid, name,
    /// filename, baseurl, enabled...}` (values as written).
    ZypperRepositories = "zypper.ZypperRepositories";
    params: [];
    command: |_| Ok(cat_files_with_markers(&["/etc/zypp/repos.d/*.repo"]));
    process: |lines, _| Ok(parse_repositories(lines));
    default: || json!([]);
    requires: |_| Some("zypper".into());
}
