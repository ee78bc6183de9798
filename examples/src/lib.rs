//! Examples live under `examples/` (one program each, run by the test command); this
//! library is empty.
