package dev.owl2j.model.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LogitAgreementTest {
    @Test
    void klAndTopOneByHand() {
        LogitAgreement a = new LogitAgreement();
        a.add(new float[]{0f, 0f}, new float[]{0f, 0f}); // the same distribution: KL 0; equal logits, top-1 id 0 for both
        // p = (1/2, 1/2), q = (3/4, 1/4): KL = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3); both top-1 id 0 (ties: the lower id)
        a.add(new float[]{0f, 0f}, new float[]{(float) Math.log(3), 0f});
        // p = (1/4, 3/4), q = (3/4, 1/4): KL = 1/4 ln(1/3) + 3/4 ln 3 = 1/2 ln 3; top-1 differs
        a.add(new float[]{0f, (float) Math.log(3)}, new float[]{(float) Math.log(3), 0f});
        assertEquals(3, a.count());
        assertEquals(2, a.agree());
        assertEquals(0.5 * Math.log(3), a.maxKl(), 1e-6);
        assertEquals((0.5 * Math.log(4.0 / 3) + 0.5 * Math.log(3)) / 3, a.meanKl(), 1e-6);
        assertEquals("q: mean KL 2.31e-01, max KL 5.49e-01, top-1 agreement 2/3", a.format("q"));
    }

    @Test
    void logitsOfDifferentLengthsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LogitAgreement().add(new float[3], new float[4]));
    }
}
