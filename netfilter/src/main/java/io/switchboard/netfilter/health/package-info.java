/** Health-check node port servers for externalTrafficPolicy Local services. */
package io.switchboard.netfilter.health;
