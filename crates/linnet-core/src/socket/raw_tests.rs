//! Raw socket rules (net/ipv4/raw.c), one Stack with a scripted peer on virtual time.
