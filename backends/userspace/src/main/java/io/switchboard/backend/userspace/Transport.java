package io.switchboard.backend.userspace;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The Netty transport: native epoll on Linux (edge-triggered, fewer copies and syscalls than NIO),
 * NIO only where epoll's native library cannot load.
 */
record Transport(String name, IoHandlerFactory handlers, Class<? extends ServerSocketChannel> serverChannel,
                 Class<? extends SocketChannel> socketChannel, Class<? extends DatagramChannel> datagramChannel) {

    /** Environment variable that forces a transport: {@code epoll}, {@code io_uring} or {@code nio}. */
    static final String FORCE = "SWITCHBOARD_USERSPACE_TRANSPORT";

    static Transport best() {
        String forced = System.getenv(FORCE);
        if ("nio".equals(forced)) {
            return nio();
        }
        if ("io_uring".equals(forced)) {
            if (!io.netty.channel.uring.IoUring.isAvailable()) {
                throw new IllegalStateException(FORCE + "=io_uring, but io_uring is unavailable: "
                        + io.netty.channel.uring.IoUring.unavailabilityCause());
            }
            return new Transport("io_uring", io.netty.channel.uring.IoUringIoHandler.newFactory(),
                    io.netty.channel.uring.IoUringServerSocketChannel.class, io.netty.channel.uring.IoUringSocketChannel.class,
                    io.netty.channel.uring.IoUringDatagramChannel.class);
        }
        if (Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                    EpollSocketChannel.class, EpollDatagramChannel.class);
        }
        return nio();
    }

    static Transport nio() {
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class,
                NioDatagramChannel.class);
    }

    /** Why epoll is not used, or null when it is available. */
    static String epollUnavailability() {
        return Epoll.isAvailable() ? null : String.valueOf(Epoll.unavailabilityCause());
    }

    MultiThreadIoEventLoopGroup group(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, handlers);
    }
}
