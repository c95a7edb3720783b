package io.switchboard.backend.userspace;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.switchboard.core.metrics.ProxyMetrics;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link TcpProxy.Relay} on Netty's EmbeddedChannel: forwarding, backpressure, half-close, idle, peer gone. */
class RelayHandlerTest {
    private final AtomicLong bytes = new AtomicLong();
    private final ProxyMetrics metrics = new ProxyMetrics() {
        @Override
        public void userspaceBytes(String direction, long n) {
            bytes.addAndGet(n);
        }
    };

    /** An embedded channel that can be half-closed, as a TCP socket can. */
    static final class HalfClosable extends EmbeddedChannel implements DuplexChannel {
        boolean inputShut;
        boolean outputShut;

        @Override
        public boolean isInputShutdown() {
            return inputShut;
        }

        @Override
        public ChannelFuture shutdownInput() {
            return shutdownInput(newPromise());
        }

        @Override
        public ChannelFuture shutdownInput(ChannelPromise promise) {
            inputShut = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isOutputShutdown() {
            return outputShut;
        }

        @Override
        public ChannelFuture shutdownOutput() {
            return shutdownOutput(newPromise());
        }

        @Override
        public ChannelFuture shutdownOutput(ChannelPromise promise) {
            outputShut = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isShutdown() {
            return inputShut && outputShut;
        }

        @Override
        public ChannelFuture shutdown() {
            return shutdown(newPromise());
        }

        @Override
        public ChannelFuture shutdown(ChannelPromise promise) {
            inputShut = true;
            outputShut = true;
            return promise.setSuccess();
        }

        /** The peer's FIN arrives. */
        void fin() {
            inputShut = true;
            pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            runPendingTasks();
        }
    }

    private HalfClosable client;
    private HalfClosable endpoint;

    private void pair() {
        client = new HalfClosable();
        endpoint = new HalfClosable();
        client.pipeline().addLast(new TcpProxy.Relay("t", metrics, endpoint, "to_endpoint"));
        endpoint.pipeline().addLast(new TcpProxy.Relay("t", metrics, client, "to_client"));
    }

    private static String text(Object o) {
        ByteBuf b = (ByteBuf) o;
        try {
            return b.toString(StandardCharsets.UTF_8);
        } finally {
            b.release();
        }
    }

    @Test
    void bytesGoToThePeerAndAreCounted() {
        pair();
        client.writeInbound(Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8));
        assertThat(text(endpoint.readOutbound())).isEqualTo("hello");
        endpoint.writeInbound(Unpooled.copiedBuffer("hi!", StandardCharsets.UTF_8));
        assertThat(text(client.readOutbound())).isEqualTo("hi!");
        assertThat(bytes.get()).isEqualTo(8);
    }

    @Test
    void aSideStopsBeingReadWhileItsPeerCannotTakeMoreAndResumesWhenItDrains() {
        pair();
        assertThat(client.config().isAutoRead()).isTrue();
        // the endpoint's outbound buffer is above its high-water mark
        endpoint.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
        assertThat(endpoint.isWritable()).isFalse();
        client.writeInbound(Unpooled.copiedBuffer("more", StandardCharsets.UTF_8));
        assertThat(client.config().isAutoRead()).as("reading the client stops").isFalse();
        // drained below the low-water mark: the client is read again
        endpoint.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
        endpoint.runPendingTasks();
        assertThat(client.config().isAutoRead()).as("reading the client resumes").isTrue();
        assertThat(text(endpoint.readOutbound())).isEqualTo("more");
    }

    @Test
    void aFinIsPassedOnAsAHalfCloseAndBothCloseOnlyWhenBothSidesAreDone() {
        pair();
        client.fin();
        assertThat(endpoint.isOutputShutdown()).as("the endpoint gets the client's FIN").isTrue();
        assertThat(client.isOpen()).as("the other direction still flows").isTrue();
        endpoint.writeInbound(Unpooled.copiedBuffer("answer", StandardCharsets.UTF_8));
        assertThat(text(client.readOutbound())).isEqualTo("answer");
        endpoint.fin();
        client.runPendingTasks();
        assertThat(client.isOutputShutdown()).isTrue();
        assertThat(client.isOpen()).isFalse();
        assertThat(endpoint.isOpen()).isFalse();
    }

    @Test
    void anIdleConnectionClosesBothSides() {
        pair();
        client.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        client.runPendingTasks();
        assertThat(client.isOpen()).isFalse();
        assertThat(endpoint.isOpen()).isFalse();
    }

    @Test
    void whenOneSideGoesThePeerIsClosedAfterWhatWasQueuedForIt() {
        pair();
        endpoint.writeInbound(Unpooled.copiedBuffer("last words", StandardCharsets.UTF_8));
        endpoint.close();
        client.runPendingTasks();
        assertThat(text(client.readOutbound())).isEqualTo("last words");
        assertThat(client.isOpen()).isFalse();
    }
}
