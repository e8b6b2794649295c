//! Operation ordering: `merge_order` over every host's operation list.
//!
//! After the deploy files are evaluated for each host, the engine merges the per-host lists
//! into one order (pyinfra's `get_op_order`) before anything runs, so this is on the critical
//! path of every deploy and grows with hosts × operations. The keys are built as
//! the Python front end (`rinfra-python`) builds `OpCall.order`: the file index, the line of every call frame, the
//! positions of enclosing `host.loop`s, and a repeat counter for a call already seen on this
//! host (a plain loop).
//!
//! The deploy shape (100 operations on a host that runs all of them):
//!
//! * 60 top-level calls (`[0, line]`);
//! * 20 calls under `if` branches, each skipped by a third of the hosts;
//! * a function with 4 operations called from two lines (`[0, call_line, op_line]`): 8 calls;
//! * a plain `for` loop over host data of 2 to 4 items (`[0, line]`, `[0, line, 1]`, ...);
//! * a `host.loop` over 8 items (`[0, line, position]`).
//!
//! Sizes: 100 × 100 and 1,000 × 100 hosts × operations (the setup is not measured).
//!
//! Run with `cargo bench -p rinfra-core --bench order`.

use divan::{black_box, Bencher};
use rinfra_core::{merge_order, OpId};

fn main() {
    divan::main();
}

const OPERATIONS: usize = 100;

/// One host's ordering keys, as `rinfra-python`'s `record` produces them.
fn host_keys(host: usize) -> Vec<Vec<u64>> {
    let mut keys: Vec<Vec<u64>> = Vec::with_capacity(OPERATIONS);
    let mut seen: std::collections::HashMap<Vec<u64>, u64> = Default::default();
    let mut record = |mut key: Vec<u64>| {
        let count = seen.entry(key.clone()).or_insert(0);
        if *count > 0 {
            key.push(*count);
        }
        *count += 1;
        keys.push(key);
    };
    let mut line = 10;
    // 60 top-level calls, with 20 conditional ones interleaved (every fourth call).
    for op in 0..80u64 {
        line += 2;
        let conditional = op % 4 == 3;
        if conditional && (host as u64 + op).is_multiple_of(3) {
            continue;
        }
        record(vec![0, line]);
    }
    // A function defined at line 400 with 4 operations, called from two lines.
    for call_line in [line + 5, line + 7] {
        for op_line in 401..405 {
            record(vec![0, call_line, op_line]);
        }
    }
    line += 10;
    // A plain loop over 2 to 4 items of host data: the same key, counted.
    for _ in 0..(2 + host % 3) {
        record(vec![0, line]);
    }
    line += 3;
    // `for x in host.loop(items)`: the loop position is appended.
    for position in 0..8 {
        record(vec![0, line, position]);
    }
    keys
}

fn all_keys(hosts: usize) -> Vec<Vec<Vec<u64>>> {
    (0..hosts).map(host_keys).collect()
}

fn location(id: &OpId) -> String {
    format!("deploy.py:{}", id.get(1).copied().unwrap_or_default())
}

/// `merge_order` for `hosts` hosts × ~100 operations each.
#[divan::bench(args = [100, 1_000])]
fn merge(bencher: Bencher, hosts: usize) {
    let keys = all_keys(hosts);
    let merged = merge_order(&keys, location).expect("no cycle");
    assert_eq!(merged.ops.len(), OPERATIONS);
    let calls: usize = keys.iter().map(Vec::len).sum();
    bencher
        .counter(divan::counter::ItemsCount::new(calls))
        .bench(|| merge_order(black_box(&keys), location));
}

/// The same operations on every host (no conditionals, no loops): the common simple deploy.
#[divan::bench(args = [100, 1_000])]
fn merge_uniform(bencher: Bencher, hosts: usize) {
    let host: Vec<Vec<u64>> = (0..OPERATIONS as u64).map(|i| vec![0, 10 + i]).collect();
    let keys = vec![host; hosts];
    bencher
        .counter(divan::counter::ItemsCount::new(hosts * OPERATIONS))
        .bench(|| merge_order(black_box(&keys), location));
}
