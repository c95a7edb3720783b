/**
 * {@code --proxy-mode=userspace}: a Netty TCP/UDP proxy per service port behind the classic
 * KUBE-PORTALS-CONTAINER / KUBE-PORTALS-HOST and KUBE-NODEPORT-CONTAINER / -HOST nat rules.
 */
package io.switchboard.backend.userspace;
