/**
 * The only module that sees fabric8: informers on Services, EndpointSlices and the own Node, and
 * the translation of those objects into proxy-core records.
 */
package io.switchboard.informers;
