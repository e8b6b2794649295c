//! Values that depend on the moment or on randomness (the current year, backup timestamps,
//! temp file names), pinnable so that vector tests are deterministic, as pyinfra's harness pins
//! them (`freeze_time("2025-01-01")`, `get_timestamp` → `a-timestamp`, temp names
//! `_tempfile_`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::{Digest, Sha1};

static TEST_MODE: AtomicBool = AtomicBool::new(false);

/// Pin the year to 2025, timestamps to `a-timestamp` and temp file names to `_tempfile_`.
#[doc(hidden)]
pub fn set_test_mode(on: bool) {
    TEST_MODE.store(on, Ordering::Relaxed);
}

fn test_mode() -> bool {
    TEST_MODE.load(Ordering::Relaxed)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current year (UTC).
pub(crate) fn current_year() -> i64 {
    if test_mode() {
        return 2025;
    }
    crate::facts::parse::civil_from_days(now_secs().div_euclid(86_400)).0
}

/// pyinfra's `get_timestamp()`: `YYMMDDHHMM` (UTC here), used in backup file names.
pub(crate) fn timestamp() -> String {
    if test_mode() {
        return "a-timestamp".into();
    }
    let iso = crate::facts::parse::timestamp_iso(now_secs());
    // 2024-08-12T17:18:11 → 2408121718
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    digits[2..12].to_string()
}

/// pyinfra's `host.get_temp_filename(key)`: `<temp dir>/pyinfra-<sha1(key)>`.
pub(crate) fn temp_filename(temp_dir: &str, key: &str) -> String {
    if test_mode() {
        return "_tempfile_".into();
    }
    let digest = Sha1::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{temp_dir}/pyinfra-{hex}")
}
