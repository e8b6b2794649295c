//! `bsdinit.RcdStatus`: which BSD rc.d services are running.

use serde_json::json;

use super::define_fact;
use super::shell::raw;

const RCD_STATUS: &str = r#"for SERVICE in `find /etc/rc.d /usr/local/etc/rc.d -type f`; do
                $SERVICE status 2> /dev/null || $SERVICE check 2> /dev/null
                echo "`basename $SERVICE`=$?"
            done"#;

define_fact! {
    /// Status of rc.d services: `{name: true | false | null}`.
    RcdStatus = "bsdinit.RcdStatus";
    params: [];
    command: |_| Ok(raw(RCD_STATUS));
    process: |lines, _| Ok(super::sysvinit::process_status_codes(lines));
    default: || json!({});
}
