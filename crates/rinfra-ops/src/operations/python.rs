//! `python.*` operations that rinfra can run without a Python interpreter.
//! (`python.call` runs Python code: the Python layer provides it.)

use std::sync::Arc;

use async_trait::async_trait;
use rinfra_core::{Callback, ExecHost, OpCommand, OpHost, OperationError};
use serde_json::{Map, Value};

use super::{define_op, Args, Out};
use crate::python::python_str;

define_op! {
    /// Fail the deploy on this host at this point, with the exception's name and arguments
    /// as the error (not idempotent: it always "runs").
    ///
    /// Deploy example: `python.raise_exception(NotImplementedError, "not done yet")`
    RaiseException = "python.raise_exception";
    params: [required "exception" = "the exception (class or its name) to raise",
             optional "args" = "the exception's positional arguments",
             optional "kwargs" = "the exception's keyword arguments"];
    idempotent: false;
    extra_kwargs: true;
    generate: raise_exception;
}

/// The callback failing the operation when it runs.
struct RaiseExc {
    exception: String,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
}

#[async_trait]
impl Callback for RaiseExc {
    fn describe(&self) -> String {
        // pyinfra's inner function's name, as its output shows
        "raise_exc".into()
    }

    fn arguments(&self) -> (Value, Value) {
        (
            Value::Array(self.args.clone()),
            Value::Object(self.kwargs.clone()),
        )
    }

    async fn call(&self, _: &dyn ExecHost) -> Result<(), String> {
        let args: Vec<String> = self.args.iter().map(python_str).collect();
        Err(if args.is_empty() {
            self.exception.clone()
        } else {
            format!("{}: {}", self.exception, args.join(", "))
        })
    }
}

async fn raise_exception(
    a: &Args<'_>,
    _: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let exception = a.str("exception")?;
    let args = match a.get("args") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    };
    // keyword arguments: `kwargs=` or any other keyword the call gave
    let mut kwargs = match a.get("kwargs") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in a.raw() {
        if !matches!(k.as_str(), "exception" | "args" | "kwargs") {
            kwargs.insert(k.clone(), v.clone());
        }
    }
    out.push(OpCommand::Callback(Arc::new(RaiseExc {
        exception,
        args,
        kwargs,
    })));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raises_with_arguments() {
        let exc = RaiseExc {
            exception: "NotImplementedError".into(),
            args: vec![json!("not yet"), json!(2)],
            kwargs: Map::new(),
        };
        let (args, _) = exc.arguments();
        assert_eq!(args, json!(["not yet", 2]));
        assert_eq!(exc.describe(), "raise_exc");
    }
}
