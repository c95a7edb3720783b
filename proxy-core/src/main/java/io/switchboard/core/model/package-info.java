/**
 * The node-local model: immutable, validated records for services, service ports, endpoints,
 * EndpointSlices and the node. Addresses are parsed as literals only; nothing here resolves DNS.
 */
package io.switchboard.core.model;
