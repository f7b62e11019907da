//! Listeners (unix socket, TCP), the hyper connection loop and graceful
//! shutdown. (being written: H-api)
