"""The network: transports, the sync protocol, discovery, invitations, access control."""
