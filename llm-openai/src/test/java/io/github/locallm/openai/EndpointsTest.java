package io.github.locallm.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The client-side choice between the servers of one model. */
class EndpointsTest {
    private static final List<okhttp3.HttpUrl> TWO = List.of(Settings.parseBase("http://a:8000/v1"),
            Settings.parseBase("http://b:8000/v1"));

    @Test
    void theLeastBusyServerIsPickedAndTiesRotate() {
        Endpoints e = new Endpoints(TWO);
        Endpoints.Endpoint a = e.all().get(0);
        Endpoints.Endpoint b = e.all().get(1);
        a.enter();
        for (int i = 0; i < 4; i++) {
            assertThat(e.pick(Set.of())).isSameAs(b);
        }
        a.leave();
        Set<Endpoints.Endpoint> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(e.pick(Set.of()));
        }
        assertThat(seen).containsExactlyInAnyOrder(a, b);
        assertThat(e.pick(Set.of(a))).as("a server this call tried already is avoided").isSameAs(b);
    }

    @Test
    void aServerMarkedDownIsAvoidedUntilItsCooldownOrASuccess() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        Endpoints e = new Endpoints(TWO, Duration.ofMillis(200), now::get);
        Endpoints.Endpoint a = e.all().get(0);
        Endpoints.Endpoint b = e.all().get(1);
        e.markDown(a, "connection refused");
        for (int i = 0; i < 4; i++) {
            assertThat(e.pick(Set.of())).isSameAs(b);
        }
        assertThat(e.pick(Set.of(b))).as("when every other one was tried, a server that is down is tried")
                .isSameAs(a);
        now.addAndGet(Duration.ofMillis(199).toNanos());
        for (int i = 0; i < 4; i++) {
            assertThat(e.pick(Set.of())).as("still within the cooldown").isSameAs(b);
        }
        now.addAndGet(Duration.ofMillis(2).toNanos());
        Set<Endpoints.Endpoint> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(e.pick(Set.of()));
        }
        assertThat(seen).as("after the cooldown").contains(a);
        e.markDown(b, "HTTP 503");
        e.markUp(b);
        a.enter();
        // a is past its cooldown and busier: were b still down (within its cooldown), a would be picked
        assertThat(e.pick(Set.of())).as("a server marked up again is picked at once").isSameAs(b);
        a.leave();
    }
}
