//! Merging the per-host operation lists into one order (pyinfra's `get_op_order`).
//!
//! Each call carries an ordering key (file index, call-frame line numbers, loop counters).
//! Within a host the calls keep their evaluation order; across hosts the lists are merged by a
//! topological sort whose ties are broken by the key, so an operation that only some hosts run
//! lands where its source position puts it. A cycle (two hosts running the same two operations
//! in opposite orders) is an error naming the operations, never a crash.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

/// An operation's identity across hosts: its ordering key, plus a repeat counter when the same
/// key occurs several times on one host (an operation in a plain loop).
pub type OpId = Vec<u64>;

/// The operations could not be ordered.
#[derive(Debug, thiserror::Error)]
#[error(
    "cycle detected in operation ordering between {}: hosts run these operations in different orders; \
     give each loop iteration its own position (e.g. iterate in the same order on every host)",
    .locations.join(", ")
)]
pub struct OrderError {
    /// Where the operations in the cycle are.
    pub locations: Vec<String>,
}

/// The merged order.
#[derive(Debug, Default)]
pub struct OpOrder {
    /// Operation ids in execution order.
    pub ops: Vec<OpId>,
    /// For each host (same index as the input), the id of each of its calls.
    pub host_ids: Vec<Vec<OpId>>,
}

/// Assign ids to every host's calls (by their `order` keys) and merge them.
///
/// `keys[h][i]` is the ordering key of host `h`'s call `i`; `locations` gives a label per key
/// for error messages.
pub fn merge_order(
    keys: &[Vec<Vec<u64>>],
    location: impl Fn(&OpId) -> String,
) -> Result<OpOrder, OrderError> {
    let mut host_ids = Vec::with_capacity(keys.len());
    let mut edges: BTreeMap<OpId, HashSet<OpId>> = BTreeMap::new();
    let mut indegree: HashMap<OpId, usize> = HashMap::new();

    for host_keys in keys {
        let mut seen: HashMap<&Vec<u64>, u64> = HashMap::new();
        let mut ids = Vec::with_capacity(host_keys.len());
        for key in host_keys {
            let n = seen.entry(key).or_insert(0);
            let mut id = key.clone();
            if *n > 0 {
                id.push(*n);
            }
            *n += 1;
            indegree.entry(id.clone()).or_insert(0);
            edges.entry(id.clone()).or_default();
            ids.push(id);
        }
        for pair in ids.windows(2) {
            if edges
                .entry(pair[0].clone())
                .or_default()
                .insert(pair[1].clone())
            {
                *indegree.entry(pair[1].clone()).or_insert(0) += 1;
            }
        }
        host_ids.push(ids);
    }

    let mut ready: BinaryHeap<Reverse<OpId>> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(id, _)| Reverse(id.clone()))
        .collect();
    let mut ops = Vec::with_capacity(indegree.len());
    while let Some(Reverse(id)) = ready.pop() {
        for next in edges.get(&id).into_iter().flatten() {
            let d = indegree.get_mut(next).expect("every node has a degree");
            *d -= 1;
            if *d == 0 {
                ready.push(Reverse(next.clone()));
            }
        }
        ops.push(id);
    }

    if ops.len() != indegree.len() {
        let done: HashSet<&OpId> = ops.iter().collect();
        let mut stuck: Vec<&OpId> = indegree.keys().filter(|id| !done.contains(id)).collect();
        stuck.sort();
        return Err(OrderError {
            locations: stuck.into_iter().map(location).collect(),
        });
    }
    Ok(OpOrder { ops, host_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(keys: &[Vec<Vec<u64>>]) -> Vec<OpId> {
        merge_order(keys, |id| format!("{id:?}")).unwrap().ops
    }

    #[test]
    fn same_ops_on_all_hosts() {
        let h = vec![vec![0, 1], vec![0, 2], vec![0, 3]];
        assert_eq!(
            order(&[h.clone(), h]),
            vec![vec![0, 1], vec![0, 2], vec![0, 3]]
        );
    }

    #[test]
    fn conditional_op_on_some_hosts_lands_by_position() {
        // host a: lines 1, 5 ; host b: lines 1, 3 (an `if` branch only b takes), 5
        let a = vec![vec![0, 1], vec![0, 5]];
        let b = vec![vec![0, 1], vec![0, 3], vec![0, 5]];
        assert_eq!(order(&[a, b]), vec![vec![0, 1], vec![0, 3], vec![0, 5]]);
    }

    #[test]
    fn loops_get_distinct_ids() {
        // a plain loop calling the op on line 2 three times on one host, twice on another
        let a = vec![vec![0, 2], vec![0, 2], vec![0, 2], vec![0, 4]];
        let b = vec![vec![0, 2], vec![0, 2], vec![0, 4]];
        let o = merge_order(&[a, b], |id| format!("{id:?}")).unwrap();
        assert_eq!(
            o.ops,
            vec![vec![0, 2], vec![0, 2, 1], vec![0, 2, 2], vec![0, 4]]
        );
        assert_eq!(o.host_ids[1], vec![vec![0, 2], vec![0, 2, 1], vec![0, 4]]);
    }

    #[test]
    fn nested_calls_order_by_frame_lines() {
        // a function defined at line 10 called from lines 20 and 30; its op is on line 11
        let a = vec![vec![0, 20, 11], vec![0, 30, 11]];
        let b = vec![vec![0, 30, 11]];
        assert_eq!(order(&[a, b]), vec![vec![0, 20, 11], vec![0, 30, 11]]);
    }

    #[test]
    fn opposite_orders_are_a_clear_error() {
        let a = vec![vec![0, 1], vec![0, 2]];
        let b = vec![vec![0, 2], vec![0, 1]];
        let e = merge_order(&[a, b], |id| format!("deploy.py:{}", id[1])).unwrap_err();
        assert!(e.to_string().contains("deploy.py:1, deploy.py:2"), "{e}");
    }

    #[test]
    fn many_hosts_scale() {
        let keys: Vec<Vec<Vec<u64>>> = (0..1000)
            .map(|_| (0..100).map(|i| vec![0, i]).collect())
            .collect();
        assert_eq!(order(&keys).len(), 100);
    }
}
