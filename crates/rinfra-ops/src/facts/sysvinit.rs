//! `sysvinit.InitdStatus`: which `/etc/init.d` services are running.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{group, re_match};

// kept byte-identical to pyinfra's command, whitespace included (the vectors compare it)
const INITD_STATUS: &str = r####"
        for SERVICE in `ls /etc/init.d/`; do
            _=`cat /etc/init.d/$SERVICE | grep "### BEGIN INIT INFO"`

            if [ "$?" = "0" ]; then
                STATUS=`/etc/init.d/$SERVICE status`
                echo "$SERVICE=$?"
            fi
        done
    "####;

/// `name=<status exit code>` lines: 0 is running, 1-3 stopped, anything else unknown (`None`).
pub(crate) fn process_status_codes(lines: &[String]) -> Value {
    let mut services = Map::new();
    for line in lines {
        if let Some(m) = re_match(r"([a-zA-Z0-9\-]+)=([0-9]+)", line) {
            let status = match group(&m, 2).parse::<i64>() {
                Ok(0) => json!(true),
                Ok(1..=3) => json!(false),
                _ => Value::Null,
            };
            services.insert(group(&m, 1).to_string(), status);
        }
    }
    Value::Object(services)
}

define_fact! {
    /// Status of init.d services with an LSB header: `{name: true | false | null}`.
    InitdStatus = "sysvinit.InitdStatus";
    params: [];
    command: |_| Ok(rinfra_connectors::StringCommand::new([INITD_STATUS]));
    process: |lines, _| Ok(process_status_codes(lines));
    default: || json!({});
}
