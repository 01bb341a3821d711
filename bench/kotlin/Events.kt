// natter-bench's events driver for the JVM (issue 10 item 5): events/s into a Kotlin listener.
//
//   java -cp … dev.natter.bench.EventsKt URL APP_ID USERS_FILE WINDOW_MS
//
// The same workload as the Rust baseline in bench/src/events.rs, through the UniFFI Kotlin
// bindings (bindings/kotlin, JNA): one Hub, one instance per `user sig` line of USERS_FILE; the
// HubSink logs an instance out on sdkStateReady and in again on sdkStateNotReady. Once every
// instance has been ready, the items reaching the listener over WINDOW_MS are counted. Prints
// `EVENTS <items> <seconds> <ready_instances>`. scripts/bench.sh compiles and runs it.
package dev.natter.bench

import dev.natter.Hub
import dev.natter.HubItem
import dev.natter.HubSink
import dev.natter.InstanceOptions
import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import kotlin.system.exitProcess

private const val WARM_UP_LIMIT_S = 60L

fun main(args: Array<String>) {
    if (args.size != 4) {
        System.err.println("usage: EventsKt URL APP_ID USERS_FILE WINDOW_MS")
        exitProcess(2)
    }
    val (url, appId, usersFile, windowMs) = args
    val users = File(usersFile).readLines().filter { it.isNotBlank() }.map { it.split(" ") }
    val hub = Hub()
    hub.setLogLevel(4.0)
    val userOf = ConcurrentHashMap<String, List<String>>()
    val firstReady = ConcurrentHashMap.newKeySet<String>()
    val allReady = CountDownLatch(users.size)
    val items = AtomicLong()
    val cycling = AtomicBoolean(true)
    hub.setSink(object : HubSink {
        override fun onItem(item: HubItem) {
            items.incrementAndGet()
            if (item !is HubItem.Event || !cycling.get()) return
            when (item.name) {
                "sdkStateReady" -> {
                    hub.logout(item.instanceId)
                    if (firstReady.add(item.instanceId)) allReady.countDown()
                }
                "sdkStateNotReady" -> userOf[item.instanceId]?.let { hub.login(item.instanceId, it[0], it[1]) }
            }
        }
    })
    val ids = users.map { u ->
        hub.create(InstanceOptions(sdkAppId = appId.toDouble(), proxyServer = url)).also { userOf[it] = u }
    }
    ids.forEach { id -> userOf[id]!!.let { hub.login(id, it[0], it[1]) } }
    allReady.await(WARM_UP_LIMIT_S, TimeUnit.SECONDS)
    val ready = firstReady.size
    val before = items.get()
    val start = System.nanoTime()
    // The window is the measurement itself, not a stand-in for synchronisation.
    Thread.sleep(windowMs.toLong())
    val counted = items.get() - before
    val seconds = (System.nanoTime() - start) / 1e9
    cycling.set(false)
    ids.forEach { hub.destroy(it) }
    println("EVENTS $counted $seconds $ready")
    exitProcess(0)
}
