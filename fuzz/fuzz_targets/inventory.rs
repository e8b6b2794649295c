//! Inventory, group_data and config files (data files evaluated with Starlark), from source.
//!
//! Every input is evaluated three ways: as `inventory.py` (`InventorySpec::from_source`, then
//! its hosts, view and merged host data), as `group_data/all.py` (with that inventory, or an
//! empty one), and as `config.py`. Data files get no `local` module and no operations, so they
//! cannot read files; the `os` shims only stat paths.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rinfra_lang::{
    eval_config_source, group_data_from_source, merge_host_data, DataLayers, InventorySpec,
    InventoryView,
};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let mut view = InventoryView::default();
    if let Ok(spec) = InventorySpec::from_source("inventory.py", source, Some("inventory")) {
        view = spec.view();
        for entry in spec.host_entries() {
            let groups: Vec<_> = entry
                .groups
                .iter()
                .filter_map(|g| spec.groups.get(g).map(|s| &s.data))
                .collect();
            let _ = merge_host_data(&DataLayers {
                host_data: Some(&entry.data),
                group_data: groups,
                all_data: Some(&spec.all.data),
                ..Default::default()
            });
        }
    }
    let _ = group_data_from_source("group_data/all.py", source, Arc::new(view));
    let _ = eval_config_source("config.py", source);
});
