//! Link the `rinfra` binary (and its tests) to the libpython of the interpreter PyO3 built against (an rpath),
//! not to whichever `libpython3.X.so` the loader finds first.
fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
