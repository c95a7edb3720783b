/** The container image module: no code of its own; Jib layers the app and its libraries on the Debian base. */
package io.switchboard.image;
