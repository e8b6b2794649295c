//! rinfra-lang
