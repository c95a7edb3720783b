/** Network namespaces as the cluster's nodes and pods, with small servers and clients inside them. */
package io.switchboard.testkit;
