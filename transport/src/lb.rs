//! Vocabulary of the load-balancing protocol shared by server and client:
//! operation, parameter, event and error codes (Photon's numbers where users
//! expect them). CONTRACT (skeleton): owned by the server owner.
