package io.switchboard.backend.userspace;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One TCP listener of the userspace proxy. Each accepted connection is relayed to an endpoint the
 * {@link Balancer} picks; a failed or timed-out connect is retried on the next endpoint with the
 * next, longer, dial timeout ({@link #DIAL_TIMEOUTS}: one try per timeout, an endpoint already tried
 * only once every endpoint has been), and a connection that finds no endpoint is reset at once.
 * <p>
 * Relaying: reads stop while the other side's outbound buffer is above its high-water mark and
 * resume when it drains (never unbounded buffering); a half-close (FIN) in either direction is
 * passed on as a half-close; a connection idle in both directions for {@code idleTimeout} is closed.
 */
final class TcpProxy implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);
    /**
     * One connect try per entry, each allowed longer than the one before, as kube-proxy's userspace
     * proxy dialled (250 ms, 500 ms, 1 s, 2 s): a SYN lost on the way to one endpoint costs the
     * client a quarter of a second and another endpoint, not the kernel's one-second retransmit.
     */
    static final List<Duration> DIAL_TIMEOUTS = List.of(Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofSeconds(2));
    /**
     * Reads grow up to 256 KiB for bulk flows (Netty's default stops at 64 KiB); a peer stops being
     * read above 512 KiB queued for the other side and resumes below 256 KiB.
     */
    static final io.netty.channel.RecvByteBufAllocator RECV = new io.netty.channel.AdaptiveRecvByteBufAllocator(512, 16 * 1024, 256 * 1024);
    static final io.netty.channel.WriteBufferWaterMark WATER_MARK = new io.netty.channel.WriteBufferWaterMark(256 * 1024, 512 * 1024);
    /** Bytes held from a client while its endpoint connection is being made. */
    static final int PENDING_LIMIT = 64 * 1024;

    private final String name;
    private final Transport transport;
    private final Balancer balancer;
    private final ProxyMetrics metrics;
    private final List<Duration> dialTimeouts;
    private final Duration idleTimeout;
    private final ChannelGroup connections;
    private final Channel server;

    TcpProxy(String name, Transport transport, EventLoopGroup group, InetSocketAddress bind, Balancer balancer,
             ProxyMetrics metrics, List<Duration> dialTimeouts, Duration idleTimeout) throws InterruptedException {
        this.name = name;
        this.transport = transport;
        this.balancer = balancer;
        this.metrics = metrics;
        if (dialTimeouts.isEmpty()) {
            throw new IllegalArgumentException("no dial timeouts");
        }
        this.dialTimeouts = List.copyOf(dialTimeouts);
        this.idleTimeout = idleTimeout;
        this.connections = new DefaultChannelGroup(name, GlobalEventExecutor.INSTANCE);
        ServerBootstrap b = new ServerBootstrap().group(group).channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECV)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(idle(), new Frontend());
                    }
                });
        this.server = b.bind(bind).sync().channel();
    }

    /** The local port this listener accepts on. */
    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Open client connections (each with its endpoint connection, once connected). */
    int openConnections() {
        return connections.size();
    }

    /** Stops accepting; open connections go on until they end (drain). */
    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }

    /** Closes every open connection now. */
    void closeConnections() {
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private IdleStateHandler idle() {
        return new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    static IpFamily family(InetAddress a) {
        return a instanceof Inet4Address ? IpFamily.IPV4 : IpFamily.IPV6;
    }

    /** Asks for more input, unless the channel has seen the other side's FIN (epoll then has no read interest to set). */
    static void readMore(Channel ch) {
        if (ch.isActive() && !(ch instanceof DuplexChannel d && d.isInputShutdown())) {
            ch.read();
        }
    }

    /**
     * Turns reading on or off. While on, epoll keeps its read interest and no call is needed per
     * read; turning it on after the other side's FIN is skipped (nothing is left to read).
     */
    static void autoRead(Channel ch, boolean on) {
        if (!on) {
            ch.config().setAutoRead(false);
        } else if (ch.isActive() && !(ch instanceof DuplexChannel d && d.isInputShutdown()) && !ch.config().isAutoRead()) {
            ch.config().setAutoRead(true);
        }
    }

    /** Resets a connection (RST, not FIN): the client learns at once that nothing serves it. */
    static void reset(Channel ch) {
        if (ch.isOpen()) {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close();
        }
    }

    /**
     * The client side until its endpoint connection is up: connects (retrying), holds what the
     * client sends meanwhile (reading stops beyond {@link #PENDING_LIMIT} bytes) and a FIN, then
     * hands them to the endpoint and gives way to a {@link Relay}.
     */
    private final class Frontend extends ChannelInboundHandlerAdapter {
        private final Set<InetSocketAddress> tried = new HashSet<>();
        private int attempts;
        private final java.util.ArrayDeque<Object> pending = new java.util.ArrayDeque<>();
        private long pendingBytes;
        private boolean fin;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            connect(ctx.channel());
            readMore(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            pending.add(msg);
            if (msg instanceof ByteBuf buf) {
                pendingBytes += buf.readableBytes();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (pendingBytes < PENDING_LIMIT) {
                readMore(ctx.channel());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
        }

        private void release() {
            Object m;
            while ((m = pending.poll()) != null) {
                io.netty.util.ReferenceCountUtil.release(m);
            }
            pendingBytes = 0;
        }

        private void connect(Channel front) {
            InetSocketAddress client = (InetSocketAddress) front.remoteAddress();
            IpFamily family = family(((InetSocketAddress) front.localAddress()).getAddress());
            InetSocketAddress picked = balancer.pick(family, client.getAddress(), tried);
            if (picked == null && !tried.isEmpty()) {
                // every endpoint has had a try: go round again with the longer timeouts left
                tried.clear();
                picked = balancer.pick(family, client.getAddress(), tried);
            }
            InetSocketAddress endpoint = picked;
            if (endpoint == null) {
                LOG.debug("{}: no endpoint for {} (tried {}); resetting", name, client, tried);
                release();
                reset(front);
                return;
            }
            tried.add(endpoint);
            Duration timeout = dialTimeouts.get(attempts++);
            Relay toClient = new Relay(name, metrics, front, "to_client");
            new Bootstrap().group(front.eventLoop()).channel(transport.socketChannel())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, RECV)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(idle(), toClient);
                        }
                    })
                    .connect(endpoint).addListener((ChannelFutureListener) f -> {
                        if (!front.isOpen()) {
                            f.channel().close();
                            return;
                        }
                        if (f.isSuccess()) {
                            balancer.used(client.getAddress(), endpoint);
                            metrics.userspaceConnections("TCP", 1);
                            f.channel().closeFuture().addListener(x -> metrics.userspaceConnections("TCP", -1));
                            connections.add(f.channel());
                            Channel back = f.channel();
                            Object m;
                            while ((m = pending.poll()) != null) {
                                if (m instanceof ByteBuf buf) {
                                    metrics.userspaceBytes("to_endpoint", buf.readableBytes());
                                }
                                back.write(m);
                            }
                            pendingBytes = 0;
                            back.flush();
                            front.pipeline().replace(Frontend.this, "relay", new Relay(name, metrics, back, "to_endpoint"));
                            if (fin) {
                                back.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(x -> ((DuplexChannel) back).shutdownOutput());
                            }
                            autoRead(front, true);
                            autoRead(back, true);
                            return;
                        }
                        boolean again = attempts < dialTimeouts.size() && front.isActive();
                        metrics.userspaceConnectFailure(again);
                        LOG.debug("{}: connect to {} failed within {} ms ({}){}", name, endpoint, timeout.toMillis(), f.cause().toString(),
                                again ? "; trying another endpoint" : "");
                        if (again) {
                            connect(front);
                        } else {
                            release();
                            reset(front);
                        }
                    });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                fin = true;
            } else if (evt instanceof IdleStateEvent) {
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * Relays what one channel reads to its peer. Installed on both sides; reads are manual
     * (auto-read off), so a side is read only while its peer can take more.
     */
    static final class Relay extends ChannelInboundHandlerAdapter {
        private final String name;
        private final ProxyMetrics metrics;
        private final Channel peer;
        private final String direction;

        Relay(String name, ProxyMetrics metrics, Channel peer, String direction) {
            this.name = name;
            this.metrics = metrics;
            this.peer = peer;
            this.direction = direction;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                metrics.userspaceBytes(direction, buf.readableBytes());
            }
            peer.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
            if (!peer.isWritable()) {
                // the peer's outbound buffer is above its high-water mark: stop reading this side
                // until channelWritabilityChanged on the peer resumes it
                autoRead(ctx.channel(), false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // this channel drained below its low-water mark: read the peer again
            if (ctx.channel().isWritable() && peer.isActive()) {
                autoRead(peer, true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                // FIN from this side: pass it on once what was read before it is written
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
                    if (peer instanceof DuplexChannel d && peer.isActive()) {
                        d.shutdownOutput().addListener(x -> closeIfDone(ctx.channel()));
                    }
                });
                closeIfDone(ctx.channel());
            } else if (evt instanceof IdleStateEvent) {
                LOG.debug("{}: closing idle connection {}", name, ctx.channel());
                ctx.close();
                peer.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        private void closeIfDone(Channel ch) {
            if (ch instanceof DuplexChannel d && peer instanceof DuplexChannel p && d.isInputShutdown() && p.isInputShutdown()
                    && d.isOutputShutdown() && p.isOutputShutdown()) {
                ch.close();
                peer.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (peer.isActive()) {
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("{}: {} on {}", name, cause.toString(), ctx.channel());
            ctx.close();
        }
    }
}
