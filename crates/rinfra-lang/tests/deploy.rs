mod common;

use common::*;
use serde_json::json;

#[test]
fn basic_calls_and_order() {
    let p = Project::new();
    let out = p
        .run(
            r#"from pyinfra import host
from pyinfra.operations import files, server

files.put(src="a.conf", dest="/etc/a.conf", _sudo=True)
server.shell("echo hi")

def helper(n):
    server.shell(commands=["echo %d" % n])

for i in range(2):
    helper(i)
"#,
            &host("web1", json!({})),
        )
        .unwrap();
    let s = summary(&out.calls);
    assert_eq!(
        s,
        vec![
            r#"files.put {"src":"a.conf","dest":"/etc/a.conf"} [0, 4] deploy.py:4 globals={"_sudo":true}"#,
            r#"server.shell {"commands":"echo hi"} [0, 5] deploy.py:5"#,
            r#"server.shell {"commands":["echo 0"]} [0, 11, 8] deploy.py:8"#,
            r#"server.shell {"commands":["echo 1"]} [0, 11, 8, 1] deploy.py:8"#,
        ]
    );
}
